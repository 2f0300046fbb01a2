// Cheat (class 3): writes the harness's stack frames (at the top of memory, below the linker's __stack)
// to change the caller's saved registers. Expected: trap (store access fault in the harness's stack).
#include "gemm_cpu.h"
extern char __stack[];
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  volatile uint64_t *frame = (uint64_t *)(__stack - 256);
  for (int i = 0; i < 32; i++) frame[i] = 0;
}
