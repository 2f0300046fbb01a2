// A workload candidate (gemm_64x48x80) that is just the library call: the library must work in the
// candidate's translation unit, linked with the harness's, both including gemmini.h.
void solution(int8_t A[64][80], int8_t B[80][48], int8_t C[64][48]) {
  tiled_matmul_auto(64, 48, 80, &A[0][0], &B[0][0], NULL, &C[0][0], 80, 48, 48, 48, MVIN_SCALE_IDENTITY,
                    MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false,
                    false, false, false, 0, WS_CPU_ISSUED);
}
