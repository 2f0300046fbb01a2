// mvin/mvout: DRAM strides, block mvins, zeros, stride-0 replication, int32 into the accumulator with
// accumulation, raw int32 read-out, scaled read-out with ReLU, mvin scaling.
#include "common.h"

#define W (2 * DIM)
static elem_t src[DIM][W + 8], dst[DIM][W], dst2[DIM][DIM];
static acc_t big[DIM][DIM], big_out[DIM][DIM], bias[DIM];

int main(void) {
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < W + 8; j++) src[i][j] = rand8();
  for (int i = 0; i < DIM; i++) {
    bias[i] = (acc_t)rand8() * 1000;
    for (int j = 0; j < DIM; j++) big[i][j] = (acc_t)rand8() * 70000 + rand8();
  }
  gemmini_flush(0);
  // a 2-block mvin from a strided source, out to a packed destination
  gemmini_config_ld((W + 8) * sizeof(elem_t));
  gemmini_config_st(W * sizeof(elem_t));
  gemmini_extended_mvin(src, 64, W, DIM);
  gemmini_extended_mvout(dst, 64, W, DIM);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < W; j++) CHECK_EQ("block", dst[i][j], src[i][j]);

  // zeros: dram address 0
  gemmini_extended_mvin(0, 64, DIM, DIM);
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_mvout(dst2, 64);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) CHECK_EQ("zeros", dst2[i][j], 0);

  // int32 into the accumulator, then the bias row replicated (stride 0) and accumulated on top
  uint32_t acc = 1u << 31;
  gemmini_extended3_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_mvin(big, acc);
  gemmini_extended3_config_ld(0, MVIN_SCALE_IDENTITY, false, 2);
  gemmini_extended_mvin3(bias, acc | (1u << 30), DIM, DIM);
  // raw int32 read-out
  gemmini_config_st(DIM * sizeof(acc_t));
  gemmini_mvout(big_out, acc | (1u << 29));
  // scaled read-out with ReLU: x * 1/256
  gemmini_extended_config_st(DIM * sizeof(elem_t), RELU, 1.0f / 256);
  gemmini_mvout(dst2, acc);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      acc_t want = big[i][j] + bias[j];
      CHECK_EQ("acc raw", big_out[i][j], want);
      acc_t r = want < 0 ? 0 : want;
      // round half to even of r / 256
      acc_t q = r >> 8, rem = r & 255;
      if (rem > 128 || (rem == 128 && (q & 1))) q++;
      CHECK_EQ("acc scaled", dst2[i][j], sat8(q));
    }

  // mvin scaling by 2.0 with int8 saturation
  gemmini_extended_config_ld((W + 8) * sizeof(elem_t), 2.0f);
  gemmini_mvin(src, 0);
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_mvout(dst2, 0);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      int s = src[i][j] * 2;
      CHECK_EQ("scaled", dst2[i][j], sat8(s));
    }
  printf(failures ? "FAILED %d\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
