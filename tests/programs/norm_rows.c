// tiled_norm_auto (gemmini.h's LayerNorm/Softmax of int32 rows, as transformers/transformer.c calls it) on the
// normalizer against the library's CPU reference: NI x NJ rows (-D defines), ACT 2 (LAYERNORM) or 4
// (SOFTMAX), values of several magnitudes per row (small, moderate, and now and then large enough to wrap
// the int32 statistics), and a read-out scale CSCALE.
#include "common.h"

#ifndef ACT
#define ACT LAYERNORM
#endif
#ifndef CSCALE
#define CSCALE 1.0f
#endif

static acc_t in[NI][NJ] __attribute__((aligned(64)));
static elem_t out[NI][NJ] __attribute__((aligned(64))), ref[NI][NJ];

int main(void) {
  for (int i = 0; i < NI; i++) {
    const int shift = (i % 4 == 3) ? 4 : (i % 4 == 2) ? 12 : 20;  // magnitudes 2^27, 2^19, 2^11
    for (int j = 0; j < NJ; j++) {
      uint32_t v = 0;
      for (int b = 0; b < 4; b++) v = (v << 8) | (uint8_t)rand8();
      in[i][j] = (acc_t)v >> shift;
    }
  }
  gemmini_flush(0);
  uint64_t t0 = read_cycles();
  int rc = tiled_norm_auto(NI, NJ, &in[0][0], &out[0][0], CSCALE, ACT, WS);
  uint64_t t1 = read_cycles();
  rc |= tiled_norm_auto(NI, NJ, &in[0][0], &ref[0][0], CSCALE, ACT, CPU);
  CHECK_EQ("tiled_norm_auto return code", rc, 0);
  int nonzero = 0;
  for (int i = 0; i < NI; i++)
    for (int j = 0; j < NJ; j++) {
      CHECK_EQ("out", out[i][j], ref[i][j]);
      nonzero += ref[i][j] != 0;
    }
  CHECK_EQ("some outputs are not zero", nonzero > 0, 1);
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(out, sizeof(out)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
