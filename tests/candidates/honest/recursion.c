// Honest control: splits the rows recursively down to one, then computes a row. Accepted.
#include "../cheats/gemm_cpu.h"
static void rows(const int8_t *A, const int8_t *B, int8_t *C, int lo, int hi) {
  if (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    rows(A, B, C, lo, mid);
    rows(A, B, C, mid, hi);
    return;
  }
  for (int j = 0; j < N; j++) {
    int32_t s = 0;
    for (int k = 0; k < K; k++) s += A[lo * K + k] * B[k * N + j];
    C[lo * N + j] = s > 127 ? 127 : s < -128 ? -128 : s;
  }
}
void solution(const int8_t *A, const int8_t *B, int8_t *C) { rows(A, B, C, 0, M); }
