// The whole LOOP_CONV_WS feature space through the library's Gemmini entry points, each checked against its
// CPU reference inside the program (and the engines against each other by the host):
//   MODE 0: tiled_conv_auto with the flags below; 1: tiled_conv_dw_auto; 2: tiled_conv_downsample;
//   3: tiled_global_average_auto (within 1 of the CPU's rounding: the accelerator rounds half to even).
//   BATCH IN CIN COUT KDIM STRIDE PAD: shape (square input); IDIL KDIL: input and kernel dilation;
//   ROT: wrot180; TOUT TIN TW1203 TW0132: transposes; PSIZE PSTRIDE PPAD: max-pooling (PSTRIDE 0: none).
#include "common.h"

#ifndef MODE
#define MODE 0
#endif
#ifndef IDIL
#define IDIL 1
#endif
#ifndef KDIL
#define KDIL 1
#endif
#ifndef ROT
#define ROT 0
#endif
#ifndef TOUT
#define TOUT 0
#endif
#ifndef TIN
#define TIN 0
#endif
#ifndef TW1203
#define TW1203 0
#endif
#ifndef TW0132
#define TW0132 0
#endif
#ifndef PSIZE
#define PSIZE 0
#endif
#ifndef PSTRIDE
#define PSTRIDE 0
#endif
#ifndef PPAD
#define PPAD 0
#endif
#ifndef ACT
#define ACT RELU
#endif
#ifndef SCALE
#define SCALE 0.03125f
#endif
#if MODE == 1
#undef COUT
#define COUT CIN
#endif
#define DIN (IN + (IDIL - 1) * (IN - 1))
#define DK (KDIM + (KDIL - 1) * (KDIM - 1))
#define OUT ((DIN + 2 * PAD - DK) / STRIDE + 1)
#define PS (PSTRIDE ? PSIZE : 1)
#define PST (PSTRIDE ? PSTRIDE : 1)
#define PP (PSTRIDE ? PPAD : 0)
#define POUT ((OUT + 2 * PP - PS) / PST + 1)

static elem_t input[BATCH * IN * IN * CIN], weights[KDIM * KDIM * CIN * COUT];
static acc_t bias[COUT];
static elem_t out[BATCH * POUT * POUT * COUT], ref[BATCH * POUT * POUT * COUT];

static int run(enum tiled_matmul_type_t type, elem_t *o) {
#if MODE == 0
  return tiled_conv_auto(BATCH, IN, IN, CIN, COUT, OUT, OUT, STRIDE, IDIL, KDIL, PAD, KDIM, ROT, TOUT, TIN, TW1203,
                         TW0132, input, weights, bias, o, ACT, SCALE, PSIZE, PSTRIDE, PPAD, type);
#elif MODE == 1
  return tiled_conv_dw_auto(BATCH, IN, IN, CIN, OUT, OUT, STRIDE, PAD, KDIM, input, weights, bias, o, ACT, SCALE,
                            PSIZE, PSTRIDE, PPAD, type);
#elif MODE == 2
  return tiled_conv_downsample(BATCH, IN, IN, CIN, COUT, IN / 2, IN / 2, CIN, COUT, COUT, input, weights, bias, o,
                               ACT, SCALE, type);
#else
  return tiled_global_average_auto(input, o, BATCH, CIN, IN, type);
#endif
}

int main(void) {
  for (unsigned i = 0; i < sizeof(input); i++) input[i] = rand8();
  for (unsigned i = 0; i < sizeof(weights); i++) weights[i] = rand8();
  for (int k = 0; k < COUT; k++) bias[k] = (acc_t)rand8() * 100;
  gemmini_flush(0);
  uint64_t t0 = read_cycles();
  int rc = run(WS, out);
  gemmini_fence();
  uint64_t t1 = read_cycles();
  if (rc != 0) {
    printf("FAILED: the library rejected the call (%d)\n", rc);
    return 1;
  }
  if (run(CPU, ref) != 0) return 1;
#if MODE == 2
  /* the downsample's CPU type runs its matmuls on the CPU: it must also equal the convolution itself */
  static elem_t conv_ref[sizeof(ref)];
  if (conv_cpu(BATCH, IN, IN, CIN, COUT, IN / 2, IN / 2, 2, 1, 1, 0, 1, false, false, false, false, false, input,
               weights, bias, conv_ref, ACT, SCALE, 0, 0, 0) != 0)
    return 1;
  for (unsigned i = 0; i < sizeof(ref); i++) CHECK_EQ("downsample CPU type vs conv_cpu", ref[i], conv_ref[i]);
#endif
#if MODE == 3
  const unsigned n = BATCH * CIN;
  for (unsigned i = 0; i < n; i++) {
    const int d = (int)out[i] - (int)ref[i];
    if (d < -1 || d > 1) CHECK_EQ("average", out[i], ref[i]);
  }
#else
  const unsigned n = sizeof(out);
  for (unsigned i = 0; i < n; i++) CHECK_EQ("output", out[i], ref[i]);
#endif
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(out, n));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
