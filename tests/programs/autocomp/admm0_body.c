    /* gemforge test program for Autocomp's admm-multifunction problem 0, written in the style of Autocomp's
       programs (a bare solution body, as Autocomp passes candidates): u_i = -(Kinf^T x_i + d_i). d_i is
       moved into the accumulator, the three 4x4 blocks of Kinf^T x_i accumulate onto it, and the sum is
       moved out through the two-argument config_st with a scale of -1. */
    config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, true, false); // A = Kinf blocks, transposed
    config_ld(4 * sizeof(float), 1.0, 4, 0);  // Kinf rows, 4 columns
    config_ld(1 * sizeof(float), 1.0, 1);     // x_i, one column (three-argument form)
    config_ld(1 * sizeof(float), 1.0, 4, 2);  // d_i into the accumulator
    config_st(1 * sizeof(float), -1.0);       // u_i = -(accumulator)

    uint32_t acc_addr = 1u << 31;
    mvin3(d_i, acc_addr, 1, 4);
    for (int k = 0; k < 3; k++) {
        mvin(Kinf[4 * k], 4 * k, 4, 4);
        mvin2(x_i[4 * k], 12 + 4 * k, 1, 4);
    }
    for (int k = 0; k < 3; k++) {
        preload(12 + 4 * k, acc_addr | (1u << 30), 1, 4, 1, 4);
        compute_preloaded(4 * k, 0xffffffff, 4, 4, 0, 0);
    }
    mvout(u_i, acc_addr, 1, 4);
    fence();
