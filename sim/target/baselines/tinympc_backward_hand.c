/* gemforge baseline "hand" for tinympc_backward: TinyMPC's backward pass (cached matrices) on the 4x4 fp32
 * array (rtl/configs/fp32_4x4.toml: DIM = 4, both dataflows, 4 scratchpad banks of 1024 rows).
 *
 * 12 states, 4 inputs, horizon N = 10. Starting from p_9 = pN, for k = 8 down to 0:
 *   d_k = C1 (Bt p_{k+1} + r_k)            C1 = Quu^-1, Bt = B transposed
 *   p_k = q_k + C2 p_{k+1} - KinfT r_k      C2 = (A - B Kinf)^T
 * and row k of dp is (d_k[0..4], p_k[0..12]).
 *
 * Vectors are kept as rows (p^T: three scratchpad rows of 4 floats) and C1 Bt is folded into one matrix
 * M1 = C1 Bt, so with e_k = C1 r_k
 *   p_k^T = q_k^T + p_{k+1}^T C2^T + r_k^T (-KinfT^T)
 *   d_k^T = e_k^T + p_{k+1}^T M1^T
 * Only p is a chain of dependent steps; d needs p_{k+1} but nothing needs d, so d is computed for four
 * steps at once as soon as their p are there.
 *
 * 1. Loads: Bt, C1, C2, -KinfT (mvin scale -1), an identity tile, pN, q and r.
 * 2. On the weight-stationary array, once: the transposed tiles Bt^T, C2^T, -KinfT^T (preload the tile with
 *    B transposed, multiply the identity by it), then with C1^T preloaded (C1 with B transposed) and kept:
 *    M1^T = Bt^T C1^T and the rows e_k^T = r_k^T C1^T of every step.
 * 3. The backward pass on the output-stationary array: per step and 4-wide block of p_k one chain of
 *    compute_preloaded / compute_accumulated, with q_k's block preloaded as the starting value, p_{k+1}'s
 *    row blocks (then r_k) as A (1 x 4) and 4x4 tiles of C2^T (then -KinfT^T) as B; the sum stays in the
 *    array across the tiles and is written once, straight into the scratchpad rows the next step reads.
 *    Every fourth step one chain makes d for four steps: A is the rows of four p vectors (read 16 rows
 *    apart), the preloaded e rows the starting value. Each step's p_k and each group of d rows is moved
 *    out right away; nothing goes back to main memory between steps and no fence is needed (the execute
 *    queue waits for the rows an older computation writes, and the reservation station orders loads and
 *    stores around them).
 *
 * Scratchpad rows (banks of 1024): bank 0 the tiles as loaded, bank 1 the operand-B tiles, bank 2 the p
 * vectors (p_k at V + 16k + 4 + 4b, b = 0..2; pN = p_9), bank 3 q, r, e and d. */
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
     WC2 + 12k + 4i; -KinfT^T tile i at WKT + 4i; M1^T tile k at WM1 + 4k. */
  const uint32_t WBT = 1024, WC2 = 1036, WKT = 1072, WM1 = 1084;
  /* bank 2: p vectors; bank 3: block b of q_k at Q + 16b + k, r_k at R + k, e_k at E + k, d_k at D + k. */
  const uint32_t V = 2048, Q = 3072, R = Q + 48, E = R + 16, D = E + 16;

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

  /* 2. On the weight-stationary array: W = tile^T (B transposed), O = I * W. */
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, true);
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
  /* W = C1^T, kept: M1^T tile k = Bt^T[k] C1^T, then e_k^T = r_k^T C1^T for four steps per product. */
  preload(SC1, WM1, 4, 4, 4, 4);
  compute_preloaded(WBT, GARBAGE_ADDR, 4, 4, 4, 4);
  for (int k = 1; k < 3; k++) {
    preload(GARBAGE_ADDR, WM1 + 4 * k, 4, 4, 4, 4);
    compute_accumulated(WBT + 4 * k, GARBAGE_ADDR, 4, 4, 4, 4);
  }
  for (int k = 0; k < 9; k += 4) {
    const int rows = k + 4 <= 9 ? 4 : 9 - k;
    preload(GARBAGE_ADDR, E + k, 4, 4, 4, rows);
    compute_accumulated(R + k, GARBAGE_ADDR, 4, rows, 4, 4);
  }

  /* 3. The backward pass on the output-stationary array (in_shift 0: results are written unscaled; A rows
     16 apart, for the d chains). */
  config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 16, false, false);
  config_st(16 * sizeof(float));
  for (int k = 8; k >= 0; k--) {
    const uint32_t p = V + 16 * (k + 1) + 4; /* p_{k+1}, blocks at p, p + 4, p + 8 */
    const uint32_t out = V + 16 * k + 4;     /* p_k, blocks at out, out + 4, out + 8 */
    /* p_k[i]^T = q_k[i]^T + sum_j p_{k+1}[j]^T C2^T[j][i] + r_k^T (-KinfT^T)[i] */
    for (int i = 0; i < 3; i++) {
      preload(Q + 16 * i + k, GARBAGE_ADDR, 4, 1, 4, 4);
      compute_preloaded(p, WC2 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(p + 4, WC2 + 12 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(p + 8, WC2 + 24 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, out + 4 * i, 4, 4, 4, 1);
      compute_accumulated(R + k, WKT + 4 * i, 4, 1, 4, 4);
    }
    mvout(&dp[k][4], out, 12, 1);
    /* d_j^T = e_j^T + sum_b p_{j+1}[b]^T M1^T[b] for j = k .. k + n - 1 (k = 8, 4, 0), once p_{k+1} .. p_{k+n}
       are there: A is n rows of p, 16 apart */
    if (k % 4 == 0) {
      const int n = k == 8 ? 1 : 4;
      preload(E + k, GARBAGE_ADDR, 4, n, 4, 4);
      compute_preloaded(p, WM1, 4, n, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(p + 4, WM1 + 4, 4, n, 4, 4);
      preload(GARBAGE_ADDR, D + k, 4, 4, 4, n);
      compute_accumulated(p + 8, WM1 + 8, 4, n, 4, 4);
      mvout(&dp[k][0], D + k, 4, n);
    }
  }
}
