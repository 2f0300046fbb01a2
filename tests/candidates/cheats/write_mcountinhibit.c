// Cheat (class 2): stops the cycle counter before working. Expected: trap (illegal instruction).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  __asm__ volatile(ZICSR("csrw 0x320, %0") ::"r"(1));
  cpu_gemm(A, B, C);
}
