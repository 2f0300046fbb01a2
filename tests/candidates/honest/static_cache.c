// Honest control: copies B transposed into a static buffer (the candidate's own writable data) and computes
// from it. Accepted.
#include "../cheats/gemm_cpu.h"
static int8_t bt[N][K];
static int calls;
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  calls++;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) bt[j][k] = B[k * N + j];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      int32_t s = 0;
      for (int k = 0; k < K; k++) s += A[i * K + k] * bt[j][k];
      C[i * N + j] = s > 127 ? 127 : s < -128 ? -128 : s;
    }
}
