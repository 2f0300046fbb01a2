// Cheat (class 4): a correct accelerator GEMM that returns without waiting for the accelerator (no fence),
// hoping the clock stops while the array still works. The host stops the clock only when the accelerator
// is idle with its writes done, and checks the output after that: accepted, but it pays for the drain.
#ifndef M
#define M 20
#define N 36
#define K 24
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))

void solution(int8_t A[M][K], int8_t B[K][N], int8_t C[M][N]) {
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_ld(K * sizeof(int8_t), MVIN_SCALE_IDENTITY, DIM, 0);
  config_ld(N * sizeof(int8_t), MVIN_SCALE_IDENTITY, DIM, 1);
  config_st(N * sizeof(int8_t));
  const uint32_t acc = 1u << 31, accum = 1u << 30;
  for (int i = 0; i < M; i += DIM) {
    int rows = MIN(DIM, M - i);
    for (int j = 0; j < N; j += DIM) {
      int cols = MIN(DIM, N - j);
      for (int k = 0; k < K; k += DIM) {
        int ks = MIN(DIM, K - k);
        uint32_t a_sp = 0, b_sp = 2 * DIM;
        mvin(&A[i][k], a_sp, ks, rows);
        mvin2(&B[k][j], b_sp, cols, ks);
        preload(b_sp, acc | (k == 0 ? 0 : accum), cols, ks, cols, rows);
        compute_preloaded(a_sp, GARBAGE_ADDR, ks, rows, DIM, DIM);
      }
      mvout(&C[i][j], acc, cols, rows);
    }
  }
  /* no fence(): return while the accelerator still works */
}
