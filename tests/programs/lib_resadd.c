// tiled_resadd_auto on an MI x MJ residual add chosen by -D defines (TYPE, RELU, ASCALE, BSCALE, CSCALE),
// checked against resadd_cpu inside the program.
#include "common.h"

#ifndef RELU_ON
#define RELU_ON 0
#endif

static elem_t A[MI][MJ], B[MI][MJ], C[MI][MJ], R[MI][MJ];

int main(void) {
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < MJ; j++) {
      A[i][j] = rand8();
      B[i][j] = rand8();
    }
  gemmini_flush(0);
  uint64_t t0 = read_cycles();
  int rc = tiled_resadd_auto(MI, MJ, ASCALE, BSCALE, CSCALE, &A[0][0], &B[0][0], &C[0][0], RELU_ON, TYPE);
  uint64_t t1 = read_cycles();
  if (rc != 0) {
    printf("FAILED: the library rejected the call (%d)\n", rc);
    return 1;
  }
  resadd_cpu(MI, MJ, ASCALE, BSCALE, CSCALE, &A[0][0], &B[0][0], &R[0][0], RELU_ON);
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < MJ; j++) CHECK_EQ("C", C[i][j], R[i][j]);
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(C, sizeof(C)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
