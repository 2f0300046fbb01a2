// Not a cheat: unbounded recursion. Expected: trap, a store fault in the gap below the candidate's stack.
static int deep(volatile int *p, int n) {
  volatile int frame[64];
  frame[0] = n;
  return deep(frame, n + 1) + p[0];
}
void solution(const int8_t *A, const int8_t *B, int8_t *C) {
  volatile int x = 0;
  C[0] = (int8_t)deep(&x, 0);
}
