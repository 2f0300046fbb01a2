// Output and the exit code reach the host.
#include <stdio.h>
int main(void) {
  printf("hello from the hart: %d\n", 6 * 7);
  fprintf(stderr, "to stderr\n");
  return 3;
}
