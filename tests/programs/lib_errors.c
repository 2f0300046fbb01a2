// Calls the library cannot serve must be refused with a non-zero result (and a message), not run.
#include "common.h"

static elem_t A[32][32], B[32][32], C[32][32];
static elem_t in[1][8][8][16], w[9 * 16][16], out[1][8][8][16];

#define REFUSED(what, call)                                                                    \
  do {                                                                                         \
    if ((call) == 0) {                                                                         \
      printf("FAIL %s was accepted\n", what);                                                  \
      failures++;                                                                              \
    }                                                                                          \
  } while (0)

int main(void) {
  const elem_t *a = &A[0][0], *b = &B[0][0];
  REFUSED("WS with both transposes", tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1,
                                                       NO_ACTIVATION, 1, 0, false, true, true, false, false, 0, WS));
  REFUSED("WS_CPU_ISSUED with both transposes",
          tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0, false, true,
                            true, false, false, 0, WS_CPU_ISSUED));
  REFUSED("OS with B transposed alone", tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1,
                                                          NO_ACTIVATION, 1, 0, false, false, true, false, false, 0,
                                                          OS));
  REFUSED("LAYERNORM", tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, LAYERNORM, 1, 0, false,
                                         false, false, false, false, 0, WS_CPU_ISSUED));
  REFUSED("oversized tiles", tiled_matmul(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0,
                                          false, 6, 6, 2, false, false, false, false, 0, WS_CPU_ISSUED));
  REFUSED("zero tile", tiled_matmul(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0, false,
                                    0, 1, 1, false, false, false, false, 0, WS_CPU_ISSUED));
  REFUSED("short stride", tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 16, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0,
                                            false, false, false, false, false, 0, WS_CPU_ISSUED));
  REFUSED("empty matrix", tiled_matmul_auto(0, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0,
                                            false, false, false, false, false, 0, WS_CPU_ISSUED));
  REFUSED("unknown type", tiled_matmul_auto(32, 32, 32, a, b, NULL, C, 32, 32, 0, 32, 1, 1, 1, NO_ACTIVATION, 1, 0,
                                            false, false, false, false, false, 0, (enum tiled_matmul_type_t)7));
  REFUSED("conv pooling", tiled_conv_auto(1, 8, 8, 16, 16, 8, 8, 1, 1, 1, 1, 3, false, false, false, false, false,
                                          &in[0][0][0][0], &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1, 3, 2,
                                          1, WS_CPU_ISSUED));
  REFUSED("conv kernel dilation", tiled_conv_auto(1, 8, 8, 16, 16, 4, 4, 1, 1, 2, 0, 3, false, false, false, false,
                                                  false, &in[0][0][0][0], &w[0][0], NULL, &out[0][0][0][0],
                                                  NO_ACTIVATION, 1, 0, 0, 0, WS_CPU_ISSUED));
  REFUSED("conv wrot180", tiled_conv_auto(1, 8, 8, 16, 16, 8, 8, 1, 1, 1, 1, 3, true, false, false, false, false,
                                          &in[0][0][0][0], &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1, 0,
                                          0, 0, WS_CPU_ISSUED));
  REFUSED("conv OS", tiled_conv_auto(1, 8, 8, 16, 16, 8, 8, 1, 1, 1, 1, 3, false, false, false, false, false,
                                     &in[0][0][0][0], &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1, 0, 0, 0,
                                     OS));
  REFUSED("conv output larger than the input", tiled_conv_auto(1, 8, 8, 16, 16, 9, 9, 1, 1, 1, 0, 3, false, false,
                                                               false, false, false, &in[0][0][0][0], &w[0][0], NULL,
                                                               &out[0][0][0][0], NO_ACTIVATION, 1, 0, 0, 0,
                                                               WS_CPU_ISSUED));
  /* tiled_conv_downsample: square layers only, as on Gemmini; strides no shorter than their rows */
  REFUSED("downsample rectangular", tiled_conv_downsample(1, 8, 6, 16, 16, 4, 3, 16, 16, 16, &in[0][0][0][0],
                                                          &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1, WS));
  REFUSED("downsample short in_stride", tiled_conv_downsample(1, 8, 8, 16, 16, 4, 4, 8, 16, 16, &in[0][0][0][0],
                                                              &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1,
                                                              WS));
  REFUSED("downsample output too large", tiled_conv_downsample(1, 8, 8, 16, 16, 5, 5, 16, 16, 16, &in[0][0][0][0],
                                                               &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1,
                                                               WS));
  REFUSED("resadd empty", tiled_resadd_auto(0, 4, 1, 1, 1, a, b, &C[0][0], false, WS_CPU_ISSUED));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
