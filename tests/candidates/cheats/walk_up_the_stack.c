// Cheat (class 3): walks up from its own frame, looking for the caller's frames to rewrite. The candidate's
// stack is its own; above it is a no-access gap. Expected: trap (store access fault above the candidate's
// stack).
#include "gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  cpu_gemm(A, B, C);
  for (volatile uint64_t *p = (uint64_t *)__builtin_frame_address(0);; p++) *p = *p;
}
