// Not a cheat: asks for more scratch than the heap has (64 MiB of 16). Expected: out_of_memory.
#include <stdlib.h>
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  volatile char *p = malloc(64u << 20);
  p[0] = 1;
}
