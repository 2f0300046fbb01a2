/* gemforge baseline "hand" for tinympc_backward: TinyMPC's backward pass (cached matrices) on the 4x4 fp32
 * array (rtl/configs/fp32_4x4.toml: DIM = 4, both dataflows, 4 scratchpad banks of 1024 rows).
 *
 * 12 states, 4 inputs, horizon N = 10. Starting from p_9 = pN, for k = 8 down to 0:
 *   d_k = C1 (Bt p_{k+1} + r_k)            C1 = Quu^-1, Bt = B transposed
 *   p_k = q_k + C2 p_{k+1} - KinfT r_k      C2 = (A - B Kinf)^T
 * and row k of dp is (d_k[0..4], p_k[0..12]).
 *
 * Vectors are kept as rows (p^T: three scratchpad rows of 4 floats), and C1 Bt is folded into one matrix
 * M1 = C1 Bt, so a step is
 *   d_k^T = p_{k+1}^T M1^T + r_k^T C1^T
 *   p_k^T = q_k^T + p_{k+1}^T C2^T + r_k^T (-KinfT^T)
 * run on the output-stationary array: one chain of compute_preloaded / compute_accumulated per 4-wide
 * output block, the vector row as A (1 x 4) and a 4x4 tile of the transposed matrix as B, q_k's block
 * preloaded as the chain's starting value, the sums kept in the array across the K tiles and written once,
 * straight into the scratchpad row the next step reads. Nothing goes back to main memory between steps
 * and no fence is needed: the execute queue waits for the rows an older computation writes, and the
 * reservation station orders loads and stores around them.
 *
 * 1. Loads: Bt, C1, C2, -KinfT (mvin scale -1), an identity tile, pN, q and r.
 * 2. On the weight-stationary array, once: the transposed tiles Bt^T, C2^T, -KinfT^T and C1^T (preload the
 *    tile with B transposed, multiply the identity by it), then M1^T = Bt^T C1^T (C1 preloaded transposed).
 * 3. The backward pass on the output-stationary array; each step ends with one 64-byte mvout of dp's row.
 *
 * Scratchpad rows (banks of 1024): bank 0 the tiles as loaded, bank 1 the operand-B tiles, bank 2 the
 * vectors (operand A and results), bank 3 q and r. Row group k of bank 2 holds d_k at V + 16k and p_k at
 * V + 16k + 4 + 4b (b = 0..2): a mvout of 16 columns reads blocks 4 rows apart, so one mvout writes the
 * whole row k of dp. pN = p_9 sits in group 9. */
#if DIM != 4
#error "tinympc_backward_hand.c is written for a 4x4 array"
#endif

void solution(float Bt[4][12], float C1[4][4], float C2[12][12], float KinfT[12][4], float q[10][12], float r[10][4], float pN[12], float dp[9][16]) {
  static const float identity[4][4] __attribute__((aligned(64))) = {
      {1.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 1.0f}};
  /* bank 0: tiles as loaded. Bt tile k = Bt[0..4][4k..4k+4] at SBT + 4k; C2 tile (i, k) =
     C2[4i..4i+4][4k..4k+4] at SC2 + 12i + 4k; -KinfT tile i = -KinfT[4i..4i+4][0..4] at SKT + 4i; C1 at
     SC1; the identity at SI. */
  const uint32_t SBT = 0, SC2 = 12, SKT = 48, SC1 = 60, SI = 64;
  /* bank 1: operand-B tiles. Bt^T tile k at WBT + 4k (only used to make M1^T); C2^T tile (k, i) at
     WC2 + 12k + 4i; -KinfT^T tile i at WKT + 4i; C1^T at WC1; M1^T tile k at WM1 + 4k. */
  const uint32_t WBT = 1024, WC2 = 1036, WKT = 1072, WC1 = 1084, WM1 = 1088;
  /* bank 2: vectors; bank 3: block b of q_k at Q + 16b + k, r_k at R + k. */
  const uint32_t V = 2048, Q = 3072, R = 3072 + 48;

  /* 1. Loads. Loader 0: rows of 12 floats, 3 blocks; loader 1: rows of 4 floats scaled by -1; loader 2:
     rows of 4 floats. */
  config_ld(12 * sizeof(float), 1.0f, 4, 0);
  config_ld(4 * sizeof(float), -1.0f, 4, 1);
  config_ld(4 * sizeof(float), 1.0f, 4, 2);
  mvin3(&identity[0][0], SI, 4, 4);
  mvin3(&C1[0][0], SC1, 4, 4);
  mvin(&Bt[0][0], SBT, 12, 4);
  for (int i = 0; i < 3; i++) {
    mvin(&C2[4 * i][0], SC2 + 12 * i, 12, 4);
    mvin2(&KinfT[4 * i][0], SKT + 4 * i, 4, 4);
  }
  mvin(&pN[0], V + 16 * 9 + 4, 12, 1);
  for (int k = 0; k < 10; k += 4) {
    const int rows = k + 4 <= 10 ? 4 : 10 - k;
    mvin3(&r[k][0], R + k, 4, rows);
  }
  /* q: block b of row k to Q + 16b + k (block stride 16) */
  config_ld(12 * sizeof(float), 1.0f, 16, 0);
  for (int k = 0; k < 10; k += 4) {
    const int rows = k + 4 <= 10 ? 4 : 10 - k;
    mvin(&q[k][0], Q + k, 12, rows);
  }

  /* 2. On the weight-stationary array: W = tile^T (B transposed), O = I * W; then M1^T = Bt^T C1^T. */
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, true);
  preload(SC1, WC1, 4, 4, 4, 4);
  compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
  for (int k = 0; k < 3; k++) {
    preload(SBT + 4 * k, WBT + 4 * k, 4, 4, 4, 4);
    compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
  }
  for (int i = 0; i < 3; i++) {
    preload(SKT + 4 * i, WKT + 4 * i, 4, 4, 4, 4);
    compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
  }
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 3; i++) {
      preload(SC2 + 12 * i + 4 * k, WC2 + 12 * k + 4 * i, 4, 4, 4, 4);
      compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
    }
  }
  preload(SC1, WM1, 4, 4, 4, 4);
  compute_preloaded(WBT, GARBAGE_ADDR, 4, 4, 4, 4);
  for (int k = 1; k < 3; k++) {
    preload(GARBAGE_ADDR, WM1 + 4 * k, 4, 4, 4, 4);
    compute_accumulated(WBT + 4 * k, GARBAGE_ADDR, 4, 4, 4, 4);
  }

  /* 3. The backward pass on the output-stationary array (in_shift 0: results are written unscaled). */
  config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16 * sizeof(float));
  for (int k = 8; k >= 0; k--) {
    const uint32_t p = V + 16 * (k + 1) + 4; /* p_{k+1}, blocks at p, p + 4, p + 8 */
    const uint32_t out = V + 16 * k;         /* d_k; p_k at out + 4, out + 8, out + 12 */
    /* d_k^T = sum_j p_{k+1}[j]^T M1^T[j] + r_k^T C1^T */
    preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
    compute_preloaded(p, WM1, 4, 1, 4, 4);
    preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
    compute_accumulated(p + 4, WM1 + 4, 4, 1, 4, 4);
    preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
    compute_accumulated(p + 8, WM1 + 8, 4, 1, 4, 4);
    preload(GARBAGE_ADDR, out, 4, 4, 4, 1);
    compute_accumulated(R + k, WC1, 4, 1, 4, 4);
    /* p_k[i]^T = q_k[i]^T + sum_j p_{k+1}[j]^T C2^T[j][i] + r_k^T (-KinfT^T)[i] */
    for (int i = 0; i < 3; i++) {
      preload(Q + 16 * i + k, GARBAGE_ADDR, 4, 1, 4, 4);
      compute_preloaded(p, WC2 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(p + 4, WC2 + 12 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(p + 8, WC2 + 24 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, out + 4 + 4 * i, 4, 4, 4, 1);
      compute_accumulated(R + k, WKT + 4 * i, 4, 1, 4, 4);
    }
    mvout(&dp[k][0], out, 16, 1);
  }
}
