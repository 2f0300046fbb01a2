// Cheat (class 5): the semihosting exit written out by hand (the runtime's entry is refused by name).
// Expected: trap (breakpoint: semihosting is a machine-mode service).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  static uint64_t block[2] = {0x20026, 0};
  register long a0 __asm__("a0") = 0x20;
  register uint64_t *a1 __asm__("a1") = block;
  __asm__ volatile(".option push\n.option norvc\n.balign 16\n"
                   "slli x0, x0, 0x1f\nebreak\nsrai x0, x0, 7\n.option pop" ::"r"(a0), "r"(a1));
}
