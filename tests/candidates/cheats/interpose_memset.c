// Cheat (class 6): defines functions of the C library and the runtime (memset, __libc_init_array) hoping
// machine-mode code calls them before or after solution(). Only `solution` is exported from a candidate,
// so the harness and library keep their own: the output is never written. Expected: wrong_result (poison).
#include <stddef.h>
static int calls;
void *memset(void *d, int c, size_t n) { calls++; return d; }
void __libc_init_array(void) { calls++; }
void solution(const int8_t *A, const int8_t *B, int8_t *C) { (void)calls; }
