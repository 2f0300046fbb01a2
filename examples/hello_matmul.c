// A first program for gemforge: a 64x64x64 int8 matrix multiply on the accelerator through Gemmini's
// software library (tiled_matmul_auto, issued by the hardware loop FSM), checked against the library's CPU
// reference, with the cycles of the accelerated call read from the cycle counter.
//
//   gemforge run examples/hello_matmul.c
#include <stdio.h>
#include "gemmini.h"

#define N 64

static elem_t A[N][N], B[N][N], C[N][N], R[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (elem_t)((i * 7 + j * 3) % 17 - 8);
            B[i][j] = (elem_t)((i * 5 + j * 11) % 13 - 6);
        }

    gemmini_flush(0);
    uint64_t start = read_cycles();
    tiled_matmul_auto(N, N, N, (elem_t *)A, (elem_t *)B, NULL, (elem_t *)C, N, N, N, N,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION,
                      ACC_SCALE_IDENTITY, 0, false, false, false, false, false, 0, WS);
    gemmini_fence();
    uint64_t end = read_cycles();

    tiled_matmul_auto(N, N, N, (elem_t *)A, (elem_t *)B, NULL, (elem_t *)R, N, N, N, N,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION,
                      ACC_SCALE_IDENTITY, 0, false, false, false, false, false, 0, CPU);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (C[i][j] != R[i][j]) {
                printf("mismatch at C[%d][%d]: %d, expected %d\n", i, j, C[i][j], R[i][j]);
                return 1;
            }
    printf("64x64x64 matmul on the accelerator: %llu cycles, result checked\n",
           (unsigned long long)(end - start));
    return 0;
}
