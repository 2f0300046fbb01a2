// A plain CPU convolution for conv_b1_8x16 (3x3, stride 1, pre-padded NHWC input, int32 bias).
void solution(int8_t inp[1][10][10][16], int8_t weights[3][3][16][16], int32_t bias[1][16],
              int8_t output[1][8][8][16]) {
  for (int p = 0; p < 8; p++)
    for (int q = 0; q < 8; q++)
      for (int k = 0; k < 16; k++) {
        int32_t s = bias[0][k];
        for (int r = 0; r < 3; r++)
          for (int t = 0; t < 3; t++)
            for (int c = 0; c < 16; c++) s += inp[0][p + r][q + t][c] * weights[r][t][c][k];
        output[0][p][q][k] = s > 127 ? 127 : s < -128 ? -128 : s;
      }
}
