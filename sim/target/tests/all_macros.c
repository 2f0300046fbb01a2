/*
 * Every instruction macro and function of gemmini.h, once or more, with distinctive arguments, in a fixed
 * order. Compiled two ways by gemforge's tests (tests/sim/headers.rs, src/sim/toolchain.rs):
 *  - for the host with -DGEMMINI_HOST_CAPTURE: each instruction is recorded as (funct, rs1, rs2) and the
 *    list is compared with the encodings of src/sim/isa.rs;
 *  - for the hart: the custom-3 instruction words of all_macros() must carry the same funct7 sequence.
 */
#include "gemmini.h"

void all_macros(uint64_t dram, int n);

void all_macros(uint64_t dram, int n)
{
    uint64_t v;

    /* data movement */
    gemmini_extended_mvin(dram, 0x123, 48, 13);
    gemmini_extended_mvin2(dram + 64, 0x80000040u, 16, 7);
    gemmini_extended_mvin3(dram + 128, 0xC0000011u, 8, 3);
    gemmini_mvin(dram + 256, 0x200);
    gemmini_block_mvin(dram + 512, 0x300, 3);
    gemmini_extended_mvout(dram + 1024, 0xA0000005u, 16, 9);
    gemmini_mvout(dram + 2048, 0x80000100u);
    gemmini_extended_mvin((elem_t *)0, 0x3ff0, 64, 16); /* zeros from a null pointer */

    /* execute */
    gemmini_extended_preload(0x400, 0x80000020u, 15, 14, 13, 12);
    gemmini_preload(0x410, 0xC0000030u);
    gemmini_preload_zeros(0x80000050u);
    gemmini_extended_compute_preloaded(0x500, 0x600, 11, 10, 9, 8);
    gemmini_extended_compute_accumulated(0x510, GARBAGE_ADDR, 7, 6, 5, 4);
    gemmini_compute_preloaded(0x520, 0x620);
    gemmini_compute_accumulated(0x530, GARBAGE_ADDR);

    /* config_ex */
    gemmini_extended3_config_ex(OUTPUT_STATIONARY, RELU, 7, 0.5, 3, 2, 1, 0, 0);
    gemmini_extended3_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0, 1.0, 5, 9, 0, 1, 1);
    gemmini_extended2_config_ex(WEIGHT_STATIONARY, RELU, 3, 4, 1, 0);
    gemmini_extended_config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 12, 1, 0, 1);
    gemmini_config_ex(WEIGHT_STATIONARY, RELU, 5);

    /* config_ld */
    gemmini_extended5_config_ld(1234, 0.25, 1, 40, 3, 2);
    gemmini_extended4_config_ld(256, 2.0, 0, 20, 1);
    gemmini_extended3_config_ld(128, 1.5, 1, 2);
    gemmini_extended2_config_ld(64, 0.75, 1);
    gemmini_extended_config_ld(32, 3.0);
    gemmini_config_ld(16);

    /* config_st, config_norm, flush */
    gemmini_extended2_config_st(400, RELU, 0.125, 2, 3, 7, 3, 4, 8, 9, 1, 1);
    gemmini_extended_config_st(200, RELU, 0.5);
    gemmini_config_st(100);
    gemmini_config_norm(0x12345678, 1, 1, 1, 0x5a, 0x9abcdef0u, 0x0fedcba9u);
    gemmini_flush(1);
    gemmini_flush(0);

    /* counters */
    (void)counter_read(5);
    counter_configure(3, WDMA_BYTES_SENT);
    counter_configure(6, RDMA_ACTIVE_CYCLE);
    counter_snapshot_take();
    counter_snapshot_reset();
    counter_reset();
    gemmini_counter_access(v, (7 << 4) | 4);
    (void)v;

    /* loop FSMs */
    gemmini_loop_ws(5, 6, 7, 1, 2, 3, dram + 0x100, dram + 0x200, dram + 0x300, dram + 0x400, 64, 96, 128, 160,
                    1, 0, 1, 0, 1, RELU, 2, 1, 1);
    gemmini_loop_conv_ws(/* batch_size */ 2, /* in_row_dim */ 17, /* in_col_dim */ 19, /* in_channels */ 18,
                         /* out_channels */ 21, /* out_row_dim */ 9, /* out_col_dim */ 10,
                         /* pool_out_row_dim */ 5, /* pool_out_col_dim */ 6, /* stride */ 2, /* padding */ 1,
                         /* kernel_dim */ 3, /* kernel_dilation */ 1, /* pool_size */ 3, /* pool_stride */ 2,
                         /* pool_padding */ 1, /* batches */ 2, /* porows */ 4, /* pocols */ 5, /* pochs */ 16,
                         /* krows */ 3, /* kcols */ 3, /* kchs */ 18, /* lpad */ 1, /* rpad */ 2, /* upad */ 3,
                         /* dpad */ 4, /* plpad */ 5, /* prpad */ 6, /* pupad */ 7, /* pdpad */ 8,
                         /* orows */ 11, /* ocols */ 12, /* weights */ dram + 0x1000, /* output */ dram + 0x2000,
                         /* bias */ dram + 0x3000, /* input */ dram + 0x4000, /* no_bias */ 1, /* no_pool */ 0,
                         /* downsample */ 1, /* wrot180 */ 1, /* input_dilated */ 1, /* activation */ RELU,
                         /* trans_output_1203 */ 1, /* trans_weight_1203 */ 0, /* trans_weight_0132 */ 1,
                         /* trans_input_3120 */ 0, /* max_pixels_per_row */ 13, /* in_stride */ 18,
                         /* weight_stride */ 21, /* out_stride */ 22, /* dw */ 1, /* a_spad_id */ 1,
                         /* b_spad_id */ 2);

    /* the short-form API */
    config_ex(WEIGHT_STATIONARY, RELU, 3, 0, 1);
    config_ld(512, 0.5, 24, 1);
    config_st(300);
    mvin(dram + 8, 0x10, 40, 5);
    mvin2(dram + 16, 0x80000010u, 16, 4);
    mvin3(dram + 24, 0x20, 8, 2);
    preload(0x30, 0x80000040u, 16, 15, 14, 13);
    compute_preloaded(0x40, GARBAGE_ADDR, 12, 11, 10, 9);
    compute_accumulated(0x50, 0x60, 8, 7, 6, 5);
    mvout(dram + 32, 0x80000070u, 16, 3);
    fence();
    gemmini_fence();

    /* run-time arguments (not constant-folded) */
    gemmini_extended_mvin(dram, (uint32_t)n, n, n + 1);
    config_ld(n * 16, 1.0, n, n & 3);
}
