// Cheat (class 5): leaves through an environment call (exit, a7 = 93) instead of returning. Expected: trap
// (environment call from U-mode).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  register long a0 __asm__("a0") = 0;
  register long a7 __asm__("a7") = 93;
  __asm__ volatile("ecall" ::"r"(a0), "r"(a7));
}
