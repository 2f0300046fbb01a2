// Cheat (class 6): the accelerator's DMA is not checked by PMP: after a correct GEMM it moves a row of the
// accumulator out just past the end of C, into the guard band, which the host checks after the run.
// Expected: wrong_result (memory outside the arrays was written).
#define solution honest_solution
#include "../gemm_tiled.c"
#undef solution
void solution(int8_t A[M][K], int8_t B[K][N], int8_t C[M][N]) {
  honest_solution(A, B, C);
  mvout(&C[M - 1][N], 1u << 31, DIM, 1); /* DIM bytes past the end of C */
  fence();
}
