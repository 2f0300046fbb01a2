/* gemforge baseline "hand" for tinympc_forward: TinyMPC's forward rollout on the 4x4 fp32 array
 * (rtl/configs/fp32_4x4.toml: DIM = 4, both dataflows, 4 scratchpad banks of 1024 rows).
 *
 * 12 states, 4 inputs, horizon 5. For t = 0..4, starting from x_0 = x0:
 *   u_t     = -K x_t - d_t
 *   x_{t+1} = A x_t + B u_t
 * and row t of xu is (u_t[0..4], x_{t+1}[0..12]).
 *
 * Vectors are kept as rows (x^T: three scratchpad rows of 4 floats), so the products become
 *   u_t^T     = x_t^T (-K^T) + (-d_t^T)
 *   x_{t+1}^T = x_t^T A^T + u_t^T B^T
 * and run on the output-stationary array: one chain of compute_preloaded / compute_accumulated per 4-wide
 * output block, the vector row as A (1 x 4) and a 4x4 tile of the transposed matrix as B, the sums kept
 * in the array across the K tiles and written once, straight into the scratchpad row the next step reads.
 * Nothing goes back to main memory between steps and no fence is needed: the execute queue waits for the
 * rows an older computation writes, and the reservation station orders loads and stores around them.
 *
 * 1. Loads: A, -K (mvin scale -1), B, an identity tile, x0 and -d (scale -1).
 * 2. The transposed tiles A^T, -K^T, B^T, made once by the weight-stationary array: preload the tile
 *    with B transposed, multiply the identity by it.
 * 3. The rollout on the output-stationary array; each step ends with one 64-byte mvout of xu's row.
 *
 * Scratchpad rows (banks of 1024): bank 0 the tiles as loaded, bank 1 the transposed tiles (operand B),
 * bank 2 the vectors (operand A and results), bank 3 the -d rows (preloaded seeds of u). Row group t of
 * bank 2 holds u_t at V + 16t and x_{t+1} at V + 16t + 4 + 4b (b = 0..2): a mvout of 16 columns reads
 * blocks 4 rows apart, so one mvout writes the whole row t of xu. x_0 sits where group -1 would put it. */
#if DIM != 4
#error "tinympc_forward_hand.c is written for a 4x4 array"
#endif

void solution(float A[12][12], float B[12][4], float K[4][12], float d[5][4], float x0[12], float xu[5][16]) {
  static const float identity[4][4] __attribute__((aligned(64))) = {
      {1.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 1.0f}};
  /* bank 0: tiles as loaded. A tile (i, k) = A[4i..4i+4][4k..4k+4] at SA + 12i + 4k; -K tile k =
     -K[0..4][4k..4k+4] at SK + 4k; B tile i = B[4i..4i+4][0..4] at SB + 4i; the identity at SI. */
  const uint32_t SA = 0, SK = 36, SB = 48, SI = 60;
  /* bank 1: transposed tiles. A^T tile (k, i) at WA + 12k + 4i; -K^T tile k at WK + 4k; B^T tile i at
     WB + 4i. */
  const uint32_t WA = 1024, WK = 1060, WB = 1072;
  /* bank 2: vectors; bank 3: -d_t at ND + t. */
  const uint32_t V = 2048 + 16, ND = 3072;

  /* 1. Loads. Loader 0: rows of 12 floats, 3 blocks; loader 1: the same scaled by -1; loader 2: rows of
     4 floats. */
  config_ld(12 * sizeof(float), 1.0f, 4, 0);
  config_ld(12 * sizeof(float), -1.0f, 4, 1);
  config_ld(4 * sizeof(float), 1.0f, 4, 2);
  mvin3(&identity[0][0], SI, 4, 4);
  mvin2(&K[0][0], SK, 12, 4);
  for (int i = 0; i < 3; i++) {
    mvin3(&B[4 * i][0], SB + 4 * i, 4, 4);
    mvin(&A[4 * i][0], SA + 12 * i, 12, 4);
  }
  mvin(&x0[0], V - 12, 12, 1);
  config_ld(4 * sizeof(float), -1.0f, 4, 1);
  mvin2(&d[0][0], ND, 4, 4);
  mvin2(&d[4][0], ND + 4, 4, 1);

  /* 2. Transposes on the weight-stationary array: W = tile^T (B transposed), O = I * W. */
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, true);
  for (int k = 0; k < 3; k++) {
    preload(SK + 4 * k, WK + 4 * k, 4, 4, 4, 4);
    compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
  }
  for (int i = 0; i < 3; i++) {
    preload(SB + 4 * i, WB + 4 * i, 4, 4, 4, 4);
    compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
  }
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 3; i++) {
      preload(SA + 12 * i + 4 * k, WA + 12 * k + 4 * i, 4, 4, 4, 4);
      compute_preloaded(SI, GARBAGE_ADDR, 4, 4, 4, 4);
    }
  }

  /* 3. The rollout on the output-stationary array (in_shift 0: results are written unscaled). */
  config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16 * sizeof(float));
  for (int t = 0; t < 5; t++) {
    const uint32_t x = V + 16 * t - 12; /* x_t, blocks at x, x + 4, x + 8 */
    const uint32_t u = V + 16 * t;      /* u_t; x_{t+1} at u + 4, u + 8, u + 12 */
    /* u_t^T = -d_t^T + sum_k x_t[k]^T (-K^T)[k] */
    preload(ND + t, GARBAGE_ADDR, 4, 1, 4, 1);
    compute_preloaded(x, WK, 4, 1, 4, 4);
    preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
    compute_accumulated(x + 4, WK + 4, 4, 1, 4, 4);
    preload(GARBAGE_ADDR, u, 4, 4, 4, 1);
    compute_accumulated(x + 8, WK + 8, 4, 1, 4, 4);
    /* x_{t+1}[i]^T = sum_k x_t[k]^T A^T[k][i] + u_t^T B^T[i] */
    for (int i = 0; i < 3; i++) {
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_preloaded(x, WA + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(x + 4, WA + 12 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, GARBAGE_ADDR, 4, 4, 4, 4);
      compute_accumulated(x + 8, WA + 24 + 4 * i, 4, 1, 4, 4);
      preload(GARBAGE_ADDR, u + 4 + 4 * i, 4, 4, 4, 1);
      compute_accumulated(u, WB + 4 * i, 4, 1, 4, 4);
    }
    mvout(&xu[t][0], u, 16, 1);
  }
}
