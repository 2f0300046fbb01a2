// Gemmini's normalizer end to end (docs/accelerator.md section 2.2): C = ACT(A * B) on one LOOP_WS with
// ACT = LAYERNORM, IGELU or SOFTMAX (-D ACT=2/3/4), configured as gemmini.h's tiled_matmul does (config_st with
// act & 3, config_norm with the I-BERT constants derived from BERT_SCALE), and checked element by element
// against an integer reference computed here on the hart with Gemmini's arithmetic: int32 sums, the
// truncating mean and variance, the integer square root, iGELU, iexp and the binary32 reciprocals (the hart's
// float operations round to nearest even, as the accelerator's). MI x MJ x MK come from -D defines; the whole
// J dimension is one loop, as the normalizing store needs whole rows. Then the library's tiled_matmul_auto
// (WS, and its CPU reference) must give the same bytes.
#include "common.h"

#ifndef ACT
#define ACT LAYERNORM
#endif
#ifndef BERT_SCALE
#define BERT_SCALE 0.05f
#endif
#ifndef CSCALE
#define CSCALE 1.0f
#endif

static elem_t A[MI][MK] __attribute__((aligned(64))), B[MK][MJ] __attribute__((aligned(64))),
    C[MI][MJ] __attribute__((aligned(64))), C_lib[MI][MJ], C_cpu[MI][MJ];
static int32_t S[MI][MJ];

static int32_t igelu_ref(int32_t q, int32_t qb, int32_t qc) {
  // every step wraps to 32 bits, as the hardware's
  uint32_t sgn = q < 0 ? 0xffffffffu : 1u;
  int32_t a = q < 0 ? (int32_t)(0u - (uint32_t)q) : q;
  int32_t nqb = (int32_t)(0u - (uint32_t)qb);
  int32_t cl = a > nqb ? nqb : a;
  uint32_t t = (uint32_t)cl + (uint32_t)qb;
  uint32_t poly = (uint32_t)qc + t * t;
  uint32_t erf = sgn * poly;
  return (int32_t)((uint32_t)q * (erf + (uint32_t)qc));
}

static int32_t iexp_ref(int32_t q, int32_t qln2, int32_t qln2_inv, int32_t qb, int32_t qc) {
  int64_t prod = (int64_t)(int32_t)(0u - (uint32_t)q) * (int64_t)qln2_inv;
  uint32_t z = (uint32_t)((uint64_t)prod >> 16);
  uint32_t t = (uint32_t)q + z * (uint32_t)qln2 + (uint32_t)qb;
  uint32_t poly = (uint32_t)qc + t * t;
  return z >= 32 ? 0 : (int32_t)(poly >> z);
}

static uint32_t isqrt_ref(uint32_t x) {
  uint32_t r = 0;
  while ((uint64_t)(r + 1) * (r + 1) <= x) r++;
  return r;
}

int main(void) {
  for (int i = 0; i < MI; i++)
    for (int k = 0; k < MK; k++) A[i][k] = (elem_t)(rand8() % 7);
  for (int k = 0; k < MK; k++)
    for (int j = 0; j < MJ; j++) B[k][j] = (elem_t)(rand8() % 5);

  // gemmini.h's constants (tiled_matmul with act IGELU or SOFTMAX)
  // (gemmini.h's expressions: float variables, double literals)
  const float S_ = BERT_SCALE;
  const float sqrt_2 = 1.41421356237;
  const float s_erf = (-0.2888 * ((S_ * S_) / 2));
  const int32_t g_qb = (int32_t)(-1.769 / (S_ / sqrt_2)), g_qc = (int32_t)(1.0 / s_erf);
  const int32_t qln2 = (int32_t)(0.693147 / S_), qln2_inv = 65536 / qln2;
  const float sa = 0.3585, sb = 1.353, sc = 0.344;
  const int32_t e_qb = (int32_t)(sb / S_), e_qc = (int32_t)(sc / (sa * S_ * S_));

  const size_t I = (MI + DIM - 1) / DIM, J = (MJ + DIM - 1) / DIM, K = (MK + DIM - 1) / DIM;
  gemmini_flush(0);
  gemmini_extended_config_ex(WEIGHT_STATIONARY, ACT & 3, 0, 1, false, false);
  gemmini_extended_config_st(MJ * sizeof(elem_t), ACT & 3, CSCALE);
  gemmini_extended3_config_ld(MK * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended3_config_ld(MJ * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1);
  gemmini_extended3_config_ld(0, MVIN_SCALE_IDENTITY, false, 2);
  if (ACT == IGELU) gemmini_config_norm(0, 0, 0, 0, 0, g_qb, g_qc);
  if (ACT == SOFTMAX) {
    gemmini_config_norm(qln2, 0, 0, 1, 0, e_qb, e_qc);
    gemmini_config_norm(qln2_inv, 1, 0, 1, 0, e_qb, e_qc);
  }
  uint64_t t0 = read_cycles();
  gemmini_loop_ws(I, J, K, I * DIM - MI, J * DIM - MJ, K * DIM - MK, &A[0][0], &B[0][0], NULL, &C[0][0], MK,
                  MJ, 0, MJ, false, false, false, false, false, ACT, 0, 0, false);
  gemmini_fence();
  uint64_t t1 = read_cycles();

  for (int i = 0; i < MI; i++)
    for (int j = 0; j < MJ; j++) {
      int32_t s = 0;
      for (int k = 0; k < MK; k++) s += (int32_t)A[i][k] * B[k][j];
      S[i][j] = s;
    }
  for (int i = 0; i < MI; i++) {
    if (ACT == LAYERNORM) {
      int32_t sum = 0, var = 0;
      for (int j = 0; j < MJ; j++) sum += S[i][j];
      const int32_t mean = sum / MJ;
      for (int j = 0; j < MJ; j++) var += (S[i][j] - mean) * (S[i][j] - mean);
      var /= MJ;
      uint32_t sd = isqrt_ref((uint32_t)var);
      if (sd == 0) sd = 1;
      const float inv = (1.0f / (float)sd) * CSCALE;
      for (int j = 0; j < MJ; j++) CHECK_EQ("C", C[i][j], gemmini_lib_readout(S[i][j] - mean, NO_ACTIVATION, inv));
    } else if (ACT == SOFTMAX) {
      int32_t max = S[i][0], sum = 0;
      for (int j = 1; j < MJ; j++) max = S[i][j] > max ? S[i][j] : max;
      for (int j = 0; j < MJ; j++) sum += iexp_ref(S[i][j] - max, qln2, qln2_inv, e_qb, e_qc);
      const float inv = (127.0f / (float)sum) * CSCALE;
      for (int j = 0; j < MJ; j++)
        CHECK_EQ("C", C[i][j],
                 gemmini_lib_readout(iexp_ref(S[i][j] - max, qln2, qln2_inv, e_qb, e_qc), NO_ACTIVATION, inv));
    } else {
      for (int j = 0; j < MJ; j++)
        CHECK_EQ("C", C[i][j], gemmini_lib_readout(igelu_ref(S[i][j], g_qb, g_qc), NO_ACTIVATION, CSCALE));
    }
  }
  // the library entry point with Gemmini's arguments, on the loop FSM and on the CPU
  int rc = tiled_matmul_auto(MI, MJ, MK, &A[0][0], &B[0][0], NULL, &C_lib[0][0], MK, MJ, MJ, MJ,
                             MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, ACT, CSCALE, BERT_SCALE,
                             false, false, false, false, false, 0, WS);
  rc |= tiled_matmul_auto(MI, MJ, MK, &A[0][0], &B[0][0], NULL, &C_cpu[0][0], MK, MJ, MJ, MJ,
                          MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, ACT, CSCALE, BERT_SCALE,
                          false, false, false, false, false, 0, CPU);
  CHECK_EQ("tiled_matmul_auto return code", rc, 0);
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < MJ; j++) {
      CHECK_EQ("C_lib", C_lib[i][j], C[i][j]);
      CHECK_EQ("C_cpu", C_cpu[i][j], C[i][j]);
    }
  printf("cycles %llu\n", (unsigned long long)(t1 - t0));
  printf("C checksum %08x\n", (unsigned)fnv(C, sizeof(C)));
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
