// Hart-speed benchmark: integer work with the accelerator idle (a CPU matmul and a checksum loop).
#include <stdint.h>
#include <stdio.h>

#define N 48
static int32_t a[N][N], b[N][N], c[N][N];

int main(void) {
  uint32_t x = 1;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      x = x * 1664525u + 1013904223u;
      a[i][j] = (int32_t)(x >> 20) - 2048;
      x = x * 1664525u + 1013904223u;
      b[i][j] = (int32_t)(x >> 20) - 2048;
    }
  uint64_t sum = 0;
  for (int rep = 0; rep < 4; rep++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        int64_t s = 0;
        for (int k = 0; k < N; k++) s += (int64_t)a[i][k] * b[k][j];
        c[i][j] = (int32_t)(s / (rep + 3));
        sum += (uint64_t)c[i][j];
      }
  }
  printf("checksum %llu\n", (unsigned long long)sum);
  return 0;
}
