    /* gemforge test program for Autocomp's admm-multifunction problem 2 (the backward pass), written in the
       style of Autocomp's programs (a bare solution body). On the accelerator, per step:
       p[i] = q[i] + AmBKt p[i+1] - Kinf^T r[i], with q[i] moved into the accumulator, Kinf^T r[i] (computed
       on the CPU) moved onto it with an mvin scale of -1, and AmBKt p[i+1] accumulated by the array; p[i] is
       written into the work array p. On the CPU: d[i] = Quu_inv^T (Bdyn^T p[i+1] + r[i]). */
    static elem_t B_p[4][1];
    static elem_t B_p_r[4][1];
    static elem_t K_r[12][1];

    static uint32_t AmBKt_sp_addr = 0;    // 36 rows: block (a, b) at 12a + 4b
    static uint32_t p_sp_addr = 36;       // 12 rows
    uint32_t acc_addr = 1u << 31;

    config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
    config_ld(48, 1.0, 4, 0);
    config_ld(4, 1.0, 4, 1);
    config_st(4, 1.0);
    for (int a = 0; a < 3; a++) {
        mvin(AmBKt[4 * a], AmBKt_sp_addr + 12 * a, 12, 4);
    }
    for (int i = NHORIZON - 2; i >= 0; i--) {
        for (int j = 0; j < 12; j++) {
            float s = 0;
            for (int k = 0; k < 4; k++) s += Kinf[k][j] * r[i][k][0];
            K_r[j][0] = s;
        }
        for (int j = 0; j < 4; j++) {
            float s = 0;
            for (int k = 0; k < 12; k++) s += Bdyn[k][j] * p[i + 1][k][0];
            B_p[j][0] = s;
        }
        add_matrix((elem_t *)B_p, (elem_t *)r[i], (elem_t *)B_p_r, 4, 1);
        for (int j = 0; j < 4; j++) {
            float s = 0;
            for (int k = 0; k < 4; k++) s += Quu_inv[k][j] * B_p_r[k][0];
            d[i][j][0] = s;
        }

        config_ld(4, 1.0, 4, 2);
        for (int a = 0; a < 3; a++) {
            mvin3(q[i][4 * a], acc_addr + 4 * a, 1, 4);
        }
        config_ld(4, -1.0, 4, 2);
        for (int a = 0; a < 3; a++) {
            mvin3(K_r[4 * a], (acc_addr + 4 * a) | (1u << 30), 1, 4);
        }
        for (int b = 0; b < 3; b++) {
            mvin2(p[i + 1][4 * b], p_sp_addr + 4 * b, 1, 4);
        }
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                preload(p_sp_addr + 4 * b, (acc_addr + 4 * a) | (1u << 30), 1, 4, 1, 4);
                compute_preloaded(AmBKt_sp_addr + 12 * a + 4 * b, 0xffffffff, 4, 4, 0, 0);
            }
            mvout(p[i][4 * a], acc_addr + 4 * a, 1, 4);
        }
        fence();
    }
