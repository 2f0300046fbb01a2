// Shared by the cheat corpus: a correct CPU GEMM for the shapes the tests use (the sizes default to
// gemm_20x36x24; the tests prepend #defines for larger workloads). The cheats call it from the place they
// hope is not measured.
#ifndef M
#define M 20
#define N 36
#define K 24
#endif

static void cpu_gemm(const int8_t *A, const int8_t *B, int8_t *C) {
#ifdef NO_WORK
  /* The tests skip the work on large workloads: the cheat's refusal does not depend on it. */
  (void)A, (void)B, (void)C;
  return;
#endif
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      int32_t s = 0;
      for (int k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      C[i * N + j] = s > 127 ? 127 : s < -128 ? -128 : s;
    }
}

/* CSR instructions under -march=rv64im (the cheats write CSRs on purpose). */
#define ZICSR(insn) ".option push\n.option arch, +zicsr\n" insn "\n.option pop"
