// Writes 65 MiB of 'x' to stdout, then "end\n": one MiB more than `gemforge run --json` keeps by default.
#include <string.h>
#include <unistd.h>
int main(void) {
  static char buf[1 << 20];
  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < 65; i++) {
    if (write(1, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
  }
  return write(1, "end\n", 4) == 4 ? 0 : 1;
}
