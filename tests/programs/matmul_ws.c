// Raw weight-stationary matmuls: C = A*B + D to the scratchpad (int8 saturation), and the same into the
// accumulator with accumulation and a scaled, ReLU'd read-out; checked against a CPU reference.
#include "common.h"

static elem_t A[DIM][DIM], B[DIM][DIM], D[DIM][DIM], C[DIM][DIM], C2[DIM][DIM];

int main(void) {
  fill3(A, B, D);
  gemmini_flush(0);
  gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
  gemmini_config_ld(DIM * sizeof(elem_t));
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_mvin(A, 0);
  gemmini_mvin(B, DIM);
  gemmini_mvin(D, 2 * DIM);
  // scratchpad result
  gemmini_preload(DIM, 3 * DIM);
  gemmini_compute_preloaded(0, 2 * DIM);
  gemmini_mvout(C, 3 * DIM);
  // accumulator: (A*B) twice, accumulated, read out with ReLU and scale 0.5
  uint32_t acc = 1u << 31;
  gemmini_preload(DIM, acc);
  gemmini_compute_preloaded(0, GARBAGE_ADDR);
  gemmini_preload(GARBAGE_ADDR, acc | (1u << 30));
  gemmini_compute_accumulated(0, GARBAGE_ADDR);
  gemmini_extended_config_st(DIM * sizeof(elem_t), RELU, 0.5f);
  gemmini_mvout(C2, acc);
  gemmini_fence();

  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      int32_t s = 0;
      for (int k = 0; k < DIM; k++) s += A[i][k] * B[k][j];
      CHECK_EQ("C", C[i][j], sat8(s + D[i][j]));
      int32_t r = 2 * s < 0 ? 0 : 2 * s;  // ReLU, then *0.5: exact for an even value
      CHECK_EQ("C2", C2[i][j], sat8(r / 2));
    }
  printf("C checksum %08x\n", (unsigned)fnv(C, sizeof(C)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
