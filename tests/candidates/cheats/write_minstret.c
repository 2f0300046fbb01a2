// Cheat (class 2): rewinds minstret. Expected: trap (illegal instruction).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  __asm__ volatile(ZICSR("csrw minstret, zero"));
}
