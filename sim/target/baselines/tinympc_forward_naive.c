/* gemforge baseline "naive" for tinympc_forward: TinyMPC's forward rollout on the core alone.
 *
 * 12 states, 4 inputs, horizon 5. For t = 0..4, starting from x_0 = x0:
 *   u_t     = -K x_t - d_t
 *   x_{t+1} = A x_t + B u_t
 * and row t of xu is (u_t[0..4], x_{t+1}[0..12]).
 *
 * Straightforward loops in float on the core's FPU (RV64GC: gcc contracts a * b + c into fmadd.s); the
 * accelerator is not used. */
void solution(float A[12][12], float B[12][4], float K[4][12], float d[5][4], float x0[12], float xu[5][16]) {
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = x0[i];
  for (int t = 0; t < 5; t++) {
    float u[4];
    for (int j = 0; j < 4; j++) {
      float s = 0.0f;
      for (int i = 0; i < 12; i++) s += K[j][i] * x[i];
      u[j] = -s - d[t][j];
    }
    float next[12];
    for (int i = 0; i < 12; i++) {
      float s = 0.0f;
      for (int k = 0; k < 12; k++) s += A[i][k] * x[k];
      for (int j = 0; j < 4; j++) s += B[i][j] * u[j];
      next[i] = s;
    }
    for (int j = 0; j < 4; j++) xu[t][j] = u[j];
    for (int i = 0; i < 12; i++) {
      xu[t][4 + i] = next[i];
      x[i] = next[i];
    }
  }
}
