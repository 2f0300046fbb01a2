// Whole-system benchmark: a 256x256x256 int8 matmul tiled by the hart (weight-stationary, 16x16 blocks,
// C accumulated in the accumulator over k, double-buffered A/B tiles), then a spot check of 256 outputs
// against a CPU reference.
#include <stdint.h>
#include <stdio.h>
#include "gemmini.h"

#define N 256
#define T (N / DIM)
static elem_t A[N][N], B[N][N], C[N][N];

int main(void) {
  uint32_t x = 777;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      x = x * 1664525u + 1013904223u;
      A[i][j] = (elem_t)(x >> 24);
      x = x * 1664525u + 1013904223u;
      B[i][j] = (elem_t)(x >> 24);
    }
  uint64_t t0 = read_cycles();
  gemmini_flush(0);
  gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1);
  gemmini_extended_config_st(N * sizeof(elem_t), NO_ACTIVATION, 1.0f);
  const uint32_t acc = 1u << 31, accum = 1u << 30;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++) {
      uint32_t c = acc | ((i * T + j) % 8) * DIM;
      for (int k = 0; k < T; k++) {
        uint32_t a_sp = (k % 4) * DIM, b_sp = 8192 + (k % 4) * DIM;
        gemmini_extended_mvin(&A[i * DIM][k * DIM], a_sp, DIM, DIM);
        gemmini_extended_mvin2(&B[k * DIM][j * DIM], b_sp, DIM, DIM);
        gemmini_preload(b_sp, k == 0 ? c : (c | accum));
        gemmini_compute_preloaded(a_sp, GARBAGE_ADDR);
      }
      gemmini_mvout(&C[i * DIM][j * DIM], c);
    }
  gemmini_fence();
  uint64_t t1 = read_cycles();
  int bad = 0;
  for (int s = 0; s < 256; s++) {
    int i = (s * 37) % N, j = (s * 101) % N;
    int32_t sum = 0;
    for (int k = 0; k < N; k++) sum += A[i][k] * B[k][j];
    elem_t want = sum > 127 ? 127 : sum < -128 ? -128 : (elem_t)sum;
    if (C[i][j] != want) bad++;
  }
  printf("matmul cycles %llu, %d of 256 spot checks wrong\n", (unsigned long long)(t1 - t0), bad);
  return bad ? 1 : 0;
}
