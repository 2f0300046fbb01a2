// Executes an illegal instruction: the run ends with its PC and disassembly.
#include <stdio.h>
int main(void) {
  printf("before\n");
  __asm__ volatile(".word 0xffffffff");
  return 0;
}
