// tiled_matmul / tiled_matmul_auto on one problem chosen by -D defines, checked against the library's CPU
// path inside the program (every element, plus the padding columns of C, which must stay untouched), with
// a checksum of C for the host's own reference.
//   MI MJ MK: dimensions; TYPE: OS, WS or WS_CPU_ISSUED; BIAS: 0 none, 1 int32 per row, 2 repeating int32
//   row, 3 int8 per row (low_D); ACT: NO_ACTIVATION or RELU; SCALE, ASCALE, BSCALE: read-out and mvin
//   scales; FULLC: int32 C; TA, TB: A stored K x I, B stored J x K; TI TJ TK: explicit tiles (0 = auto).
#include "common.h"

#ifndef BIAS
#define BIAS 0
#endif
#ifndef ACT
#define ACT NO_ACTIVATION
#endif
#ifndef SCALE
#define SCALE 1.0f
#endif
#ifndef ASCALE
#define ASCALE 1.0f
#endif
#ifndef BSCALE
#define BSCALE 1.0f
#endif
#ifndef FULLC
#define FULLC 0
#endif
#ifndef TA
#define TA 0
#endif
#ifndef TB
#define TB 0
#endif
#ifndef TI
#define TI 0
#define TJ 0
#define TK 0
#endif

// Stored shapes, with strides wider than the rows (extra columns) so strides are exercised.
#define A_ROWS (TA ? MK : MI)
#define A_STRIDE ((TA ? MI : MK) + 3)
#define B_ROWS (TB ? MJ : MK)
#define B_STRIDE ((TB ? MK : MJ) + 5)
#define D_ROWS (BIAS == 2 ? 1 : MI)
#define D_STRIDE (MJ + 1)
#define C_STRIDE (MJ + 2)
#if FULLC
typedef acc_t c_t;
#else
typedef elem_t c_t;
#endif
#if BIAS == 3
typedef elem_t d_t;
#else
typedef acc_t d_t;
#endif

static elem_t A[A_ROWS][A_STRIDE], B[B_ROWS][B_STRIDE];
static d_t D[D_ROWS][D_STRIDE];
static c_t C[MI][C_STRIDE], R[MI][C_STRIDE];

static int run(enum tiled_matmul_type_t type, c_t (*out)[C_STRIDE]) {
  const void *d = BIAS ? (const void *)&D[0][0] : NULL;
  if (TI && type != CPU)
    return tiled_matmul(MI, MJ, MK, &A[0][0], &B[0][0], d, &out[0][0], A_STRIDE, B_STRIDE, D_STRIDE, C_STRIDE,
                        ASCALE, BSCALE, 1.0f, ACT, SCALE, 0, BIAS == 2, TI, TJ, TK, TA, TB, FULLC, BIAS == 3, 0,
                        type);
  return tiled_matmul_auto(MI, MJ, MK, &A[0][0], &B[0][0], d, &out[0][0], A_STRIDE, B_STRIDE, D_STRIDE,
                           C_STRIDE, ASCALE, BSCALE, 1.0f, ACT, SCALE, 0, BIAS == 2, TA, TB, FULLC, BIAS == 3, 0,
                           type);
}

int main(void) {
  for (int i = 0; i < A_ROWS; i++)
    for (int j = 0; j < A_STRIDE; j++) A[i][j] = rand8();
  for (int i = 0; i < B_ROWS; i++)
    for (int j = 0; j < B_STRIDE; j++) B[i][j] = rand8();
  for (int i = 0; i < D_ROWS; i++)
    for (int j = 0; j < D_STRIDE; j++) D[i][j] = BIAS == 3 ? (d_t)rand8() : (d_t)rand8() * 300;
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < C_STRIDE; j++) C[i][j] = R[i][j] = (c_t)0x55;
  gemmini_flush(0);
  uint64_t t0 = read_cycles();
  int rc = run(TYPE, C);
  uint64_t t1 = read_cycles();
  if (rc != 0) {
    printf("FAILED: the library rejected the call (%d)\n", rc);
    return 1;
  }
  if (run(CPU, R) != 0) return 1;
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < C_STRIDE; j++) CHECK_EQ(j < MJ ? "C" : "C padding column", C[i][j], R[i][j]);
  uint32_t h = 2166136261u;
  for (int i = 0; i < MI; i++) {
    const uint8_t *row = (const uint8_t *)&C[i][0];
    for (unsigned b = 0; b < MJ * sizeof(c_t); b++) h = (h ^ row[b]) * 16777619u;
  }
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)h);
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
