// Correct result, but also writes one byte past the end of C.
void solution(int8_t A[20][24], int8_t B[24][36], int8_t C[20][36]) {
  for (int i = 0; i < 20; i++)
    for (int j = 0; j < 36; j++) {
      int32_t s = 0;
      for (int k = 0; k < 24; k++) s += A[i][k] * B[k][j];
      C[i][j] = s > 127 ? 127 : s < -128 ? -128 : s;
    }
  ((volatile int8_t *)C)[20 * 36] = 1;
}
