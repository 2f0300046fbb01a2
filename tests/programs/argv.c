// Prints its arguments one per line and returns argc: `gemforge run argv.c -- a b` passes them to main.
#include <stdio.h>
int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  if (argv[argc] != NULL) {
    printf("argv is not NULL-terminated\n");
    return 100;
  }
  return argc;
}
