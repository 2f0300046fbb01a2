// Honest control: a plain CPU GEMM (no accelerator). Accepted, with honest cycles.
#include "../cheats/gemm_cpu.h"
void solution(const int8_t *A, const int8_t *B, int8_t *C) { cpu_gemm(A, B, C); }
