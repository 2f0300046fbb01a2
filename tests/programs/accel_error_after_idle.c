// Keeps the accelerator idle for about 160,000 cycles (a loop on the hart), then gives it a 17-row mvin:
// the accelerator's error must name the run's cycle, not a count of the accelerator's own ticks.
#include "gemmini.h"
int main(void) {
  static elem_t a[32][DIM];
  volatile int spin = 0;
  for (int i = 0; i < 20000; i++) spin++;
  gemmini_config_ld(DIM);
  gemmini_extended_mvin(a, 0, DIM, 17);
  gemmini_fence();
  return 0;
}
