// Does not compile: a missing semicolon.
void solution(int8_t A[20][24], int8_t B[24][36], int8_t C[20][36]) {
  int x = 1
  C[0][0] = x;
}
