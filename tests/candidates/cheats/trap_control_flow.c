// Cheat (class 5): installs its own trap vector and uses an illegal instruction to jump into it. Expected:
// trap (U-mode cannot write mtvec; any trap in U-mode ends the run).
#include "gemm_cpu.h"
static void after(void) {}
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  __asm__ volatile(ZICSR("csrw mtvec, %0") "\n.word 0xffffffff" ::"r"(after));
}
