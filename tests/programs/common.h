// Shared by the end-to-end test programs: deterministic data and CPU references.
#ifndef GEMFORGE_TEST_COMMON_H
#define GEMFORGE_TEST_COMMON_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "gemmini.h"

static uint32_t lcg_state = 777;
// Full-range int8 values (not sparse 0/1), the same LCG on the host side of the tests.
static inline int8_t rand8(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (int8_t)(lcg_state >> 24);
}

// Fill three DIM x DIM matrices element by element, interleaved (the order the host reproduces).
static inline void fill3(elem_t a[DIM][DIM], elem_t b[DIM][DIM], elem_t c[DIM][DIM]) {
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      a[i][j] = rand8();
      b[i][j] = rand8();
      c[i][j] = rand8();
    }
}

static inline int8_t sat8(int64_t x) { return x > 127 ? 127 : x < -128 ? -128 : (int8_t)x; }

// FNV-1a over bytes, printed so the host can check results it computes itself.
static inline uint32_t fnv(const void *p, unsigned n) {
  const uint8_t *b = (const uint8_t *)p;
  uint32_t h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}

static int failures = 0;
#define CHECK_EQ(what, got, want)                                                              \
  do {                                                                                         \
    long long g_ = (long long)(got), w_ = (long long)(want);                                   \
    if (g_ != w_) {                                                                            \
      if (failures < 10) printf("FAIL %s: got %lld, want %lld\n", what, g_, w_);              \
      failures++;                                                                              \
    }                                                                                          \
  } while (0)
#endif
