// Cheat (class 1): solution() returns at once and a destructor computes the output after the measured
// call. Expected: forbidden_symbol naming .fini_array.
#include "gemm_cpu.h"
static const int8_t *ga, *gb;
static int8_t *gc;
static volatile int ran;
__attribute__((destructor)) static void late(void) {
  ran = 1;
  cpu_gemm(ga, gb, gc);
}
void solution(const int8_t *A, const int8_t *B, int8_t *C) { ga = A; gb = B; gc = C; }
