// Cheat (class 1): a .preinit_array entry (runs before the constructors). Expected: forbidden_symbol naming
// .preinit_array.
#include "gemm_cpu.h"
static volatile int ran;
static void earliest(void) { ran = 1; }
__attribute__((used, section(".preinit_array"))) static void (*const earliest_p)(void) = earliest;
void solution(const int8_t *A, const int8_t *B, int8_t *C) { cpu_gemm(A, B, C); }
