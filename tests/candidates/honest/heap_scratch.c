// Honest control: scratch on the heap (malloc, calloc, realloc, free): B transposed and int32 row sums.
// Accepted.
#include <stdlib.h>
#include <string.h>
#include "../cheats/gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  int8_t *bt = malloc((size_t)N * K);
  int32_t *row = calloc(N, sizeof(int32_t));
  row = realloc(row, 2 * N * sizeof(int32_t));
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) bt[j * K + k] = B[k * N + j];
  for (int i = 0; i < M; i++) {
    memset(row, 0, N * sizeof(int32_t));
    for (int j = 0; j < N; j++)
      for (int k = 0; k < K; k++) row[j] += A[i * K + k] * bt[j * K + k];
    for (int j = 0; j < N; j++) C[i * N + j] = row[j] > 127 ? 127 : row[j] < -128 ? -128 : row[j];
  }
  free(row);
  free(bt);
}
