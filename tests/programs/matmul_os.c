// Raw output-stationary matmul with a preloaded D and a rounding shift: C = clip(rshift(D + A*B, 3)).
#include "common.h"

static elem_t A[DIM][DIM], B[DIM][DIM], D[DIM][DIM], C[DIM][DIM];

static int32_t rshift(int32_t x, int s) {
  if (s == 0) return x;
  int32_t q = x >> s;
  int r = (x >> (s - 1)) & 1;
  int low = (x & ((1 << (s - 1)) - 1)) != 0;
  int odd = (x >> s) & 1;
  return q + (r && (low || odd));
}

int main(void) {
  fill3(A, B, D);
  gemmini_flush(0);
  gemmini_config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 3);
  gemmini_config_ld(DIM * sizeof(elem_t));
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_mvin(A, 0);
  gemmini_mvin(B, DIM);
  gemmini_mvin(D, 2 * DIM);
  gemmini_preload(2 * DIM, 3 * DIM);
  gemmini_compute_preloaded(0, DIM);
  gemmini_mvout(C, 3 * DIM);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      int32_t s = D[i][j];
      for (int k = 0; k < DIM; k++) s += A[i][k] * B[k][j];
      CHECK_EQ("C", C[i][j], sat8(rshift(s, 3)));
    }
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
