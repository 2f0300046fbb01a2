// Honest control: a 512 KiB local buffer (the candidate's stack is 2 MiB) holding int32 partial sums.
// Accepted.
#include "../cheats/gemm_cpu.h"
#define BIG (128 * 1024)
static void work(const int8_t *A, const int8_t *B, int8_t *C) {
  volatile int32_t acc[BIG];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      int32_t s = 0;
      for (int k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      acc[(i * N + j) % BIG] = s;
      C[i * N + j] = s > 127 ? 127 : s < -128 ? -128 : s;
    }
  acc[BIG - 1] = 0;
}
void solution(const int8_t *A, const int8_t *B, int8_t *C) { work(A, B, C); }
