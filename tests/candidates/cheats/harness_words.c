// Cheat (class 3): finds the harness's cycle and done words near the global pointer (the small-data area
// the harness's globals live in) and overwrites every word that looks like one. Expected: trap (load access
// fault in the harness's data, which U-mode may not touch).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  uintptr_t gp;
  __asm__ volatile("mv %0, gp" : "=r"(gp));
  for (volatile uint32_t *p = (uint32_t *)(gp - 0x800); p < (uint32_t *)(gp + 0x800); p++)
    if (*p == 1) *p = 0x600dc0de;
}
