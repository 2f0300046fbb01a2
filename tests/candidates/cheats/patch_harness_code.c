// Cheat (class 3): patches the harness's code: the instruction at the return address becomes
// `li a0, 0` and main's first instruction a jump to itself. Expected: trap (store access fault in the
// harness's code).
#include "gemm_cpu.h"
int main(void);
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  *(volatile uint32_t *)__builtin_return_address(0) = 0x00000513; /* li a0, 0 */
  *(volatile uint32_t *)(uintptr_t)main = 0x0000006f;             /* j . */
}
