// Cheat (class 5): computes the output, forges the done flag it guesses, and exits from inside solution()
// so the harness never reads the clock again. Expected: forbidden_symbol naming exit.
#include "gemm_cpu.h"
void exit(int);
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  exit(0);
}
