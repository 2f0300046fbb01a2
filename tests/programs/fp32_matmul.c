// An fp32 program for an fp32 configuration (rtl/configs/fp32_4x4.toml): C = A*B + D with K = 2*DIM on
// the weight-stationary array (D in the accumulator, the two K tiles accumulated there), read out raw and
// through ReLU * 0.5, then the same A*B on the output-stationary array with in_shift 1. The program prints
// every input and output as binary32 bits; the host recomputes each value in the array's order of fused
// multiply-adds (docs/accelerator.md section 2.1) and compares bits.
#include <stdint.h>
#include <stdio.h>
#include "gemmini.h"

#ifndef ELEM_T_IS_FLOAT
#error "fp32_matmul.c needs an fp32 configuration"
#endif

#define K (2 * DIM)

static elem_t A[DIM][K] __attribute__((aligned(64)));
static elem_t B[K][DIM] __attribute__((aligned(64)));
static acc_t D[DIM][DIM] __attribute__((aligned(64)));
static elem_t C_ws[DIM][DIM] __attribute__((aligned(64)));
static elem_t C_relu[DIM][DIM] __attribute__((aligned(64)));
static elem_t C_os[DIM][DIM] __attribute__((aligned(64)));

static uint32_t lcg = 12345;
// Values with 24 significant bits over a range of exponents, some negative, so the products need all
// their 48 bits (a fused multiply-add rounds differently from a multiply then an add) and the sums round
// and cancel.
static float next_value(void) {
  lcg = lcg * 1664525u + 1013904223u;
  int32_t m = (int32_t)(lcg >> 8) - (1 << 23);  // [-2^23, 2^23)
  lcg = lcg * 1664525u + 1013904223u;
  int e = (int)((lcg >> 20) & 15) + 20;         // scale by 2^-(e+3)
  float x = (float)m;
  for (int i = 0; i < e + 3; i++) x = x * 0.5f;
  return x;
}

static void print_matrix(const char *name, const float *m, int rows, int cols) {
  for (int i = 0; i < rows; i++) {
    printf("%s %d", name, i);
    for (int j = 0; j < cols; j++) printf(" %08lx", (unsigned long)elem_t_to_elem_t_bits(m[i * cols + j]));
    printf("\n");
  }
}

int main(void) {
  for (int i = 0; i < DIM; i++)
    for (int k = 0; k < K; k++) A[i][k] = next_value();
  for (int k = 0; k < K; k++)
    for (int j = 0; j < DIM; j++) B[k][j] = next_value();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) D[i][j] = next_value();

  const uint32_t a_sp = 0, b_sp = 2 * DIM, acc = GEMMINI_ACC_ADDR(0);
  // WS: A and B tiles in the scratchpad, D into the accumulator, two accumulating K tiles.
  gemmini_extended_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0, 1, false, false);
  gemmini_extended4_config_ld(K * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  gemmini_extended4_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 1);
  gemmini_extended4_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 2);
  for (int t = 0; t < 2; t++) {
    gemmini_extended_mvin(&A[0][t * DIM], a_sp + t * DIM, DIM, DIM);
    gemmini_extended_mvin2(&B[t * DIM][0], b_sp + t * DIM, DIM, DIM);
  }
  gemmini_extended_mvin3(&D[0][0], acc, DIM, DIM);
  for (int t = 0; t < 2; t++) {
    gemmini_extended_preload(b_sp + t * DIM, GEMMINI_ACC_ACCUMULATE_ADDR(0), DIM, DIM, DIM, DIM);
    gemmini_extended_compute_preloaded(a_sp + t * DIM, GARBAGE_ADDR, DIM, DIM, DIM, DIM);
  }
  gemmini_extended_config_st(DIM * sizeof(elem_t), NO_ACTIVATION, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&C_ws[0][0], acc, DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(elem_t), RELU, 0.5f);
  gemmini_extended_mvout(&C_relu[0][0], acc, DIM, DIM);

  // OS: the first K tile starts from zero (no D), the second accumulates in the array; the result is
  // divided by 2^1 on its way out and written to the scratchpad.
  gemmini_extended_config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 1, 1, false, false);
  const uint32_t c_sp = 4 * DIM;
  gemmini_extended_preload(GARBAGE_ADDR, GARBAGE_ADDR, DIM, DIM, DIM, DIM);
  gemmini_extended_compute_preloaded(a_sp, b_sp, DIM, DIM, DIM, DIM);
  gemmini_extended_preload(GARBAGE_ADDR, c_sp, DIM, DIM, DIM, DIM);
  gemmini_extended_compute_accumulated(a_sp + DIM, b_sp + DIM, DIM, DIM, DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(elem_t), NO_ACTIVATION, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&C_os[0][0], c_sp, DIM, DIM);
  gemmini_fence();

  print_matrix("A", &A[0][0], DIM, K);
  print_matrix("B", &B[0][0], K, DIM);
  print_matrix("D", &D[0][0], DIM, DIM);
  print_matrix("WS", &C_ws[0][0], DIM, DIM);
  print_matrix("RELU", &C_relu[0][0], DIM, DIM);
  print_matrix("OS", &C_os[0][0], DIM, DIM);
  return 0;
}
