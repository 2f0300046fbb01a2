// tiled_conv_auto on one convolution chosen by -D defines (NHWC input, [krow][kcol][cin][cout] weights,
// int32 bias), checked against conv_cpu inside the program, with a checksum of the output for the host.
//   BATCH IN CIN COUT: shape (square input); KDIM STRIDE PAD: kernel; TYPE: WS or WS_CPU_ISSUED;
//   NOBIAS: no bias; ACT, SCALE: read-out. The output is OUT x OUT with OUT = (IN + 2 PAD - KDIM) / STRIDE + 1.
#include "common.h"

#ifndef ACT
#define ACT NO_ACTIVATION
#endif
#ifndef SCALE
#define SCALE 1.0f
#endif
#ifndef NOBIAS
#define NOBIAS 0
#endif
#define OUT ((IN + 2 * PAD - KDIM) / STRIDE + 1)

static elem_t input[BATCH][IN][IN][CIN], weights[KDIM * KDIM * CIN][COUT];
static acc_t bias[COUT];
static elem_t out[BATCH][OUT][OUT][COUT], ref[BATCH][OUT][OUT][COUT];

static int run(enum tiled_matmul_type_t type, elem_t *o) {
  return tiled_conv_auto(BATCH, IN, IN, CIN, COUT, OUT, OUT, STRIDE, 1, 1, PAD, KDIM, false, false, false, false,
                         false, &input[0][0][0][0], &weights[0][0], NOBIAS ? NULL : bias, o, ACT, SCALE, 0, 0, 0,
                         type);
}

int main(void) {
  for (int b = 0; b < BATCH; b++)
    for (int y = 0; y < IN; y++)
      for (int x = 0; x < IN; x++)
        for (int c = 0; c < CIN; c++) input[b][y][x][c] = rand8();
  for (int r = 0; r < KDIM * KDIM * CIN; r++)
    for (int k = 0; k < COUT; k++) weights[r][k] = rand8();
  for (int k = 0; k < COUT; k++) bias[k] = (acc_t)rand8() * 300;
  gemmini_flush(0);
  uint64_t t0 = read_cycles();
  int rc = run(TYPE, &out[0][0][0][0]);
  gemmini_fence();
  uint64_t t1 = read_cycles();
  if (rc != 0) {
    printf("FAILED: the library rejected the call (%d)\n", rc);
    return 1;
  }
  if (run(CPU, &ref[0][0][0][0]) != 0) return 1;
  const elem_t *g = &out[0][0][0][0], *w = &ref[0][0][0][0];
  for (unsigned i = 0; i < sizeof(out); i++) CHECK_EQ("output", g[i], w[i]);
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(out, sizeof(out)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
