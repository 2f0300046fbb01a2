// A 64x64x64 tiled matmul with a bias row, weight-stationary, C accumulated in the accumulator over k and
// read out as int8; checked against a CPU reference, and a checksum for the host.
#include "common.h"

#define N 64
#define T (N / DIM)
static elem_t A[N][N], B[N][N], C[N][N];
static acc_t bias[N];

int main(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      A[i][j] = rand8();
      B[i][j] = rand8();
    }
  for (int j = 0; j < N; j++) bias[j] = (acc_t)rand8() * 64;
  uint64_t t0 = read_cycles();
  gemmini_flush(0);
  gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1);
  gemmini_extended3_config_ld(0, MVIN_SCALE_IDENTITY, false, 2);
  gemmini_extended_config_st(N * sizeof(elem_t), NO_ACTIVATION, 1.0f);
  const uint32_t acc = 1u << 31, accum = 1u << 30;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++) {
      uint32_t c = acc | ((i * T + j) % 4) * DIM;
      gemmini_extended_mvin3(&bias[j * DIM], c, DIM, DIM);
      for (int k = 0; k < T; k++) {
        uint32_t a_sp = (k % 2) * DIM, b_sp = 4 * DIM + (k % 2) * DIM;
        gemmini_mvin(&A[i * DIM][k * DIM], a_sp);
        gemmini_extended_mvin2(&B[k * DIM][j * DIM], b_sp, DIM, DIM);
        gemmini_preload(b_sp, c | accum);
        gemmini_compute_preloaded(a_sp, GARBAGE_ADDR);
      }
      gemmini_mvout(&C[i * DIM][j * DIM], c);
    }
  gemmini_fence();
  uint64_t t1 = read_cycles();
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      int32_t s = bias[j];
      for (int k = 0; k < N; k++) s += A[i][k] * B[k][j];
      CHECK_EQ("C", C[i][j], sat8(s));
    }
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(C, sizeof(C)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
