// Cheat (class 1): a hand-made .init_array entry, without the constructor attribute. Expected:
// forbidden_symbol naming .init_array.
#include "gemm_cpu.h"
static volatile int ran;
static void early(void) { ran = 1; }
__attribute__((used, section(".init_array"))) static void (*const early_p)(void) = early;
void solution(const int8_t *A, const int8_t *B, int8_t *C) { cpu_gemm(A, B, C); }
