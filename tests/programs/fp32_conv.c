// A convolution on an fp32 configuration (rtl/configs/fp32_4x4.toml) through the LOOP_CONV_WS loop FSM,
// called as Gemmini's software calls it on its fp32 configurations: in_stride, weight_stride and
// out_stride count elements, and each is larger than the channels it holds (the gaps hold poison that a
// wrong address would read, or sentinels a wrong store would overwrite). Two images of 5x5 pixels, 6 input
// channels, a 3x3 kernel with padding 1, 5 output channels, a bias, ReLU and an accumulator scale of 0.5.
// All values are small integers, so every binary32 sum and product is exact and the CPU reference needs no
// tolerance. The program prints "fp32 conv ok" and exits 0 only when every output and every gap is right.
#include <stdint.h>
#include <stdio.h>
#include "gemmini.h"

#ifndef ELEM_T_IS_FLOAT
#error "fp32_conv.c needs an fp32 configuration"
#endif

#define BATCH 2
#define IN_DIM 5
#define ICH 6
#define OCH 5
#define KDIM 3
#define PAD 1
#define OUT_DIM 5
#define IN_STRIDE 9      // elements between two input pixels (> ICH)
#define W_STRIDE 8       // elements between two weight rows (> OCH)
#define OUT_STRIDE 7     // elements between two output pixels (> OCH)
#define POISON 1.0e6f    // in the input and weight gaps: reading one spoils a result
#define SENTINEL -7777.0f  // in the output gaps: a store there is caught

static elem_t input[BATCH * IN_DIM * IN_DIM * IN_STRIDE] __attribute__((aligned(64)));
static elem_t weights[KDIM * KDIM * ICH * W_STRIDE] __attribute__((aligned(64)));
static acc_t bias[OCH] __attribute__((aligned(64)));
static elem_t output[BATCH * OUT_DIM * OUT_DIM * OUT_STRIDE] __attribute__((aligned(64)));

static uint32_t lcg = 2026;
// an integer in [-range, range]
static int next_int(int range) {
  lcg = lcg * 1664525u + 1013904223u;
  return (int)((lcg >> 16) % (uint32_t)(2 * range + 1)) - range;
}

int main(void) {
  for (int i = 0; i < BATCH * IN_DIM * IN_DIM * IN_STRIDE; i++)
    input[i] = (i % IN_STRIDE) < ICH ? (elem_t)next_int(4) : POISON;
  for (int i = 0; i < KDIM * KDIM * ICH * W_STRIDE; i++)
    weights[i] = (i % W_STRIDE) < OCH ? (elem_t)next_int(3) : POISON;
  for (int o = 0; o < OCH; o++) bias[o] = (acc_t)next_int(20);
  for (int i = 0; i < BATCH * OUT_DIM * OUT_DIM * OUT_STRIDE; i++) output[i] = SENTINEL;

  // the configuration LOOP_CONV_WS expects: WS with A stride = conv stride; config_st's stride is in bytes
  gemmini_extended_config_st(OUT_STRIDE * sizeof(elem_t), RELU, 0.5f);
  gemmini_extended3_config_ex(WEIGHT_STATIONARY, 0, 0, ACC_SCALE_IDENTITY, 1, 1, false, false, false);
  // the whole layer is one tile: a 7x7 padded window, 2 channel blocks of input and 2 of output
  gemmini_loop_conv_ws(BATCH, IN_DIM, IN_DIM, ICH, OCH, OUT_DIM, OUT_DIM, OUT_DIM, OUT_DIM, 1, PAD, KDIM, 1,
                       1, 1, 0, BATCH, OUT_DIM, OUT_DIM, OCH, KDIM, KDIM, ICH, PAD, PAD, PAD, PAD, 0, 0, 0, 0,
                       OUT_DIM, OUT_DIM, weights, output, bias, input, false, true, false, false, false, RELU,
                       false, false, false, false, 1, IN_STRIDE, W_STRIDE, OUT_STRIDE, false, 0, 0);
  gemmini_fence();

  int bad = 0;
  for (int b = 0; b < BATCH; b++)
    for (int orow = 0; orow < OUT_DIM; orow++)
      for (int ocol = 0; ocol < OUT_DIM; ocol++) {
        const elem_t *px = &output[((b * OUT_DIM + orow) * OUT_DIM + ocol) * OUT_STRIDE];
        for (int o = 0; o < OUT_STRIDE; o++) {
          float want = SENTINEL;
          if (o < OCH) {
            int sum = (int)bias[o];
            for (int kr = 0; kr < KDIM; kr++)
              for (int kc = 0; kc < KDIM; kc++) {
                int r = orow + kr - PAD, c = ocol + kc - PAD;
                if (r < 0 || r >= IN_DIM || c < 0 || c >= IN_DIM) continue;
                for (int k = 0; k < ICH; k++)
                  sum += (int)input[((b * IN_DIM + r) * IN_DIM + c) * IN_STRIDE + k] *
                         (int)weights[((kr * KDIM + kc) * ICH + k) * W_STRIDE + o];
              }
            want = sum > 0 ? (float)sum * 0.5f : 0.0f;
          }
          if (px[o] != want) {
            if (bad < 8)
              printf("output (%d, %d, %d) element %d: got %d/2, want %d/2\n", b, orow, ocol, o,
                     (int)(px[o] * 2.0f), (int)(want * 2.0f));
            bad++;
          }
        }
      }
  if (bad != 0) {
    printf("fp32 conv: %d wrong elements\n", bad);
    return 1;
  }
  // a digest of the outputs, so the two engines' runs can be compared beyond the verdict
  uint32_t digest = 0;
  for (int i = 0; i < BATCH * OUT_DIM * OUT_DIM * OUT_STRIDE; i++)
    digest = digest * 31u + (uint32_t)elem_t_to_elem_t_bits(output[i]);
  printf("fp32 conv ok, digest %08lx\n", (unsigned long)digest);
  return 0;
}
