// Cheat (class 6): uses an input array as scratch through the DMA (U-mode may only read it). The inputs are
// compared with what the host wrote after the run. Expected: wrong_result (inputs are read-only).
#define solution honest_solution
#include "../gemm_tiled.c"
#undef solution
void solution(int8_t A[M][K], int8_t B[K][N], int8_t C[M][N]) {
  honest_solution(A, B, C);
  config_st(K * sizeof(int8_t));
  mvout(&A[0][0], 1u << 31, DIM, 1);
  fence();
}
