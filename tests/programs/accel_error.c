// Gives the accelerator an mvin of 17 rows: a sticky accelerator error naming the command.
#include "gemmini.h"
int main(void) {
  static elem_t a[32][DIM];
  gemmini_config_ld(DIM);
  gemmini_extended_mvin(a, 0, DIM, 17);
  gemmini_fence();
  return 0;
}
