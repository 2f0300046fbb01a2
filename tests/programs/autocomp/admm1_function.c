c
void solution(float Adyn[12][12], float Bdyn[12][4], float Kinf[4][12], float x[NHORIZON + 1][12][1], float d[NHORIZON][4][1], float u[NHORIZON][4][1]) {
    /* gemforge test program for Autocomp's admm-multifunction problem 1 (the forward pass), written in the
       style of Autocomp's programs (a whole function after a stray line, as LLM answers come): Kinf x[i] on
       the accelerator, u[i] = -Kinf x[i] - d[i] with the harness's negate_matrix and add_matrix, and
       x[i+1] = Adyn x[i] + Bdyn u[i] on the CPU, written into the state trajectory x. */
    static elem_t Kinf_x[4][1] row_align_acc(1);
    static elem_t Kinf_x_neg[4][1];
    static elem_t d_neg[4][1];
    static elem_t A_x[12][1];
    static elem_t B_u[12][1];

    config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
    config_ld(12 * sizeof(float), 1.0, 4, 0);  // Kinf, 4x4 blocks of a 4x12 matrix
    config_ld(sizeof(float), 1.0, 4, 1);       // x[i], one column
    config_st(sizeof(float));                  // one-argument form
    for (int k = 0; k < 3; k++) {
        mvin(&Kinf[0][4 * k], 4 * k, 4, 4);
    }
    for (int i = 0; i < NHORIZON; i++) {
        for (int k = 0; k < 3; k++) {
            mvin2(x[i][4 * k], 12 + 4 * k, 1, 4);
            preload(12 + 4 * k, k == 0 ? 0x80000000 : 0xc0000000, 1, 4, 1, 4);
            compute_preloaded(4 * k, 0xffffffff, 4, 4, 0, 0);
        }
        mvout(Kinf_x, 0x80000000, 1, 4);
        fence();
        negate_matrix((elem_t *)Kinf_x, (elem_t *)Kinf_x_neg, 4, 1);
        negate_matrix((elem_t *)d[i], (elem_t *)d_neg, 4, 1);
        add_matrix((elem_t *)Kinf_x_neg, (elem_t *)d_neg, (elem_t *)u[i], 4, 1);
        for (int r = 0; r < 12; r++) {
            float a = 0, b = 0;
            for (int c = 0; c < 12; c++) a += Adyn[r][c] * x[i][c][0];
            for (int c = 0; c < 4; c++) b += Bdyn[r][c] * u[i][c][0];
            A_x[r][0] = a;
            B_u[r][0] = b;
        }
        add_matrix((elem_t *)A_x, (elem_t *)B_u, (elem_t *)x[i + 1], 12, 1);
    }
}
