// Moves in 17 rows: more than DIM, an accelerator error.
void solution(int8_t A[20][24], int8_t B[24][36], int8_t C[20][36]) {
  config_ld(24, MVIN_SCALE_IDENTITY, DIM, 0);
  mvin(A, 0, 16, 17);
  fence();
}
