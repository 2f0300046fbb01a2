// Cheat (class 2): computes the output, then rewinds mcycle so the harness's second reading is small.
// Expected: trap (illegal instruction: mcycle is a machine CSR).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  __asm__ volatile(ZICSR("csrw mcycle, zero"));
}
