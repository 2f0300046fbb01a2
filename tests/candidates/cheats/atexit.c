// Cheat (class 1): an atexit handler computes the output after the measured call. Expected:
// forbidden_symbol naming atexit.
#include "gemm_cpu.h"
int atexit(void (*)(void));
static const int8_t *ga, *gb;
static int8_t *gc;
static void late(void) { cpu_gemm(ga, gb, gc); }
void solution(const int8_t *A, const int8_t *B, int8_t *C) { ga = A; gb = B; gc = C; atexit(late); }
