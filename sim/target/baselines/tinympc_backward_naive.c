/* gemforge baseline "naive" for tinympc_backward: TinyMPC's backward pass (cached matrices) on the core
 * alone.
 *
 * 12 states, 4 inputs, horizon N = 10. Starting from p_9 = pN, for k = 8 down to 0:
 *   d_k = C1 (Bt p_{k+1} + r_k)            C1 = Quu^-1, Bt = B transposed
 *   p_k = q_k + C2 p_{k+1} - KinfT r_k      C2 = (A - B Kinf)^T
 * and row k of dp is (d_k[0..4], p_k[0..12]).
 *
 * Straightforward loops in float on the core's FPU (RV64GC: gcc contracts a * b + c into fmadd.s); the
 * accelerator is not used. */
void solution(float Bt[4][12], float C1[4][4], float C2[12][12], float KinfT[12][4], float q[10][12], float r[10][4], float pN[12], float dp[9][16]) {
  float p[12];
  for (int i = 0; i < 12; i++) p[i] = pN[i];
  for (int k = 8; k >= 0; k--) {
    float y[4];
    for (int j = 0; j < 4; j++) {
      float s = r[k][j];
      for (int i = 0; i < 12; i++) s += Bt[j][i] * p[i];
      y[j] = s;
    }
    for (int j = 0; j < 4; j++) {
      float s = 0.0f;
      for (int i = 0; i < 4; i++) s += C1[j][i] * y[i];
      dp[k][j] = s;
    }
    float next[12];
    for (int i = 0; i < 12; i++) {
      float s = q[k][i];
      for (int l = 0; l < 12; l++) s += C2[i][l] * p[l];
      for (int j = 0; j < 4; j++) s -= KinfT[i][j] * r[k][j];
      next[i] = s;
    }
    for (int i = 0; i < 12; i++) {
      dp[k][4 + i] = next[i];
      p[i] = next[i];
    }
  }
}
