// Cheat (class 1, work outside the timed call): a constructor computes the output before solution() is
// called, from the arrays the host already placed (their addresses found through a pointer kept by a
// previous call). Expected: forbidden_symbol naming .init_array.
#include "gemm_cpu.h"
static const int8_t *ga, *gb;
static int8_t *gc;
static volatile int ran;
__attribute__((constructor)) static void early(void) {
  ran = 1;
  if (gc) cpu_gemm(ga, gb, gc);
}
void solution(const int8_t *A, const int8_t *B, int8_t *C) { ga = A; gb = B; gc = C; }
