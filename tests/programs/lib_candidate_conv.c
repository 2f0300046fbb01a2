// A workload candidate (conv_b1_8x16: 3x3, stride 1, input already padded) that is just the library call.
void solution(int8_t inp[1][10][10][16], int8_t weights[3][3][16][16], int32_t bias[1][16],
              int8_t output[1][8][8][16]) {
  tiled_conv_auto(1, 10, 10, 16, 16, 8, 8, 1, 1, 1, 0, 3, false, false, false, false, false, &inp[0][0][0][0],
                  &weights[0][0][0][0], &bias[0][0], &output[0][0][0][0], NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, 0,
                  0, WS_CPU_ISSUED);
}
