// A Spike-style program: console output through the HTIF syscall proxy and exit through tohost.
#include <stdint.h>
extern volatile uint64_t tohost, fromhost;
static volatile uint64_t magic_mem[8] __attribute__((aligned(64)));

int main(void) {
  static const char msg[] = "htif says hi\n";
  magic_mem[0] = 64;  // SYS_write
  magic_mem[1] = 1;
  magic_mem[2] = (uintptr_t)msg;
  magic_mem[3] = sizeof(msg) - 1;
  __sync_synchronize();
  tohost = (uintptr_t)magic_mem;
  while (fromhost == 0) {
  }
  fromhost = 0;
  tohost = (5u << 1) | 1;  // exit(5)
  for (;;) {
  }
}
