/*
 * gemmini.h: the programming interface of gemforge's Gemmini-compatible accelerator.
 *
 * Written for gemforge from the published ISA description (Gemmini's RoCC instruction set); it offers
 *
 *  (a) Gemmini's instruction macros, with the same names, arguments and encodings: gemmini_mvin/mvin2/mvin3,
 *      gemmini_mvout, gemmini_preload, gemmini_compute_preloaded/accumulated, every config_ex/ld/st variant,
 *      gemmini_config_norm, gemmini_flush, gemmini_fence, the counter helpers, gemmini_loop_ws and
 *      gemmini_loop_conv_ws (the loop FSM commands: the accelerator currently reports them as unsupported);
 *  (b) the short-form API of the Autocomp prompts: config_ex, config_ld, config_st, mvin, mvin2, mvin3,
 *      preload, compute_preloaded, compute_accumulated, mvout, fence (define GEMMINI_NO_SHORT_API before
 *      including this file to leave those names free);
 *  (c) read_cycles() (rdcycle).
 *
 * Every instruction is custom-3 (XCUSTOM_ACC), R-type: funct7 = the command, rs1/rs2 = two 64-bit words.
 * Commands are issued with funct3 = 3 (xs1, xs2; rd = x0; no response); the counter command (funct7 126)
 * uses funct3 = 7 and returns a value in rd. The operand words are computed by the gemmini_enc_* inline
 * functions below, the single place of the encoding arithmetic. Fields are masked to their widths
 * (local addresses to 32 bits, rows/cols to 16 bits, ...), so out-of-range arguments cannot spill into
 * neighbouring fields.
 *
 * Host builds: define GEMMINI_HOST_CAPTURE and provide
 *     uint64_t gemmini_host_capture(int xd, unsigned funct, uint64_t rs1, uint64_t rs2);
 * then every instruction calls it instead of executing (xd = 1 for the counter command, whose rd receives
 * the return value); gemforge's tests use this to check the encodings against its Rust ISA module.
 *
 * Every instruction asm statement clobbers "memory", so the compiler keeps CPU loads and stores in
 * program order around accelerator commands (a mvin sees the data stored before it; gemmini_fence()
 * orders later loads after the accelerator's writes).
 */

#ifndef GEMFORGE_GEMMINI_H
#define GEMFORGE_GEMMINI_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#include <gemmini_params.h> /* angle brackets: a user -I directory may supply its own */

#ifndef XCUSTOM_ACC
#define XCUSTOM_ACC 3
#endif

/* ---------------------------------------------------------------------------------------------------
 * Command codes (funct7) and constants
 * ------------------------------------------------------------------------------------------------- */

#define k_CONFIG 0
#define k_MVIN2 1
#define k_MVIN 2
#define k_MVOUT 3
#define k_COMPUTE_PRELOADED 4
#define k_COMPUTE_ACCUMULATE 5
#define k_PRELOAD 6
#define k_FLUSH 7
#define k_LOOP_WS 8
#define k_LOOP_WS_CONFIG_BOUNDS 9
#define k_LOOP_WS_CONFIG_ADDRS_AB 10
#define k_LOOP_WS_CONFIG_ADDRS_DC 11
#define k_LOOP_WS_CONFIG_STRIDES_AB 12
#define k_LOOP_WS_CONFIG_STRIDES_DC 13
#define k_MVIN3 14
#define k_LOOP_CONV_WS 15
#define k_LOOP_CONV_WS_CONFIG_1 16
#define k_LOOP_CONV_WS_CONFIG_2 17
#define k_LOOP_CONV_WS_CONFIG_3 18
#define k_LOOP_CONV_WS_CONFIG_4 19
#define k_LOOP_CONV_WS_CONFIG_5 20
#define k_LOOP_CONV_WS_CONFIG_6 21
#define k_COUNTER 126

/* config sub-commands (rs1[1:0] of k_CONFIG) */
#define CONFIG_EX 0
#define CONFIG_LD 1
#define CONFIG_ST 2
#define CONFIG_BERT 3
#define CONFIG_NORM 3

/* The garbage local address: "no operand" (preload/compute) or "do not write" (C). */
#define GARBAGE_ADDR ((uint32_t)(-1))

/* Dataflows (config_ex) */
#define OUTPUT_STATIONARY 0
#define WEIGHT_STATIONARY 1

/* Activations */
#define NO_ACTIVATION 0
#define RELU 1
#define LAYERNORM 2
#define IGELU 3
#define SOFTMAX 4

/* Local-address bits (32-bit address: [31] accumulator, [30] accumulate, [29] read full int32 row) */
#define GEMMINI_ACC_ADDR_BIT ((uint32_t)1 << 31)
#define GEMMINI_ACCUMULATE_BIT ((uint32_t)1 << 30)
#define GEMMINI_READ_FULL_BIT ((uint32_t)1 << 29)

/* ---------------------------------------------------------------------------------------------------
 * Instruction emission
 * ------------------------------------------------------------------------------------------------- */

#define GEMMINI_STR_(x) #x
#define GEMMINI_STR(x) GEMMINI_STR_(x)
#define GEMMINI_CUSTOM_(x) CUSTOM_##x
#define GEMMINI_CUSTOM(x) GEMMINI_CUSTOM_(x)

#ifdef GEMMINI_HOST_CAPTURE

uint64_t gemmini_host_capture(int xd, unsigned funct, uint64_t rs1, uint64_t rs2);

#define ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct)                                                  \
    do {                                                                                              \
        (void)gemmini_host_capture(0, (funct), (uint64_t)(rs1), (uint64_t)(rs2));                     \
    } while (0)

#define ROCC_INSTRUCTION(x, rd, rs1, rs2, funct)                                                      \
    do {                                                                                              \
        (rd) = gemmini_host_capture(1, (funct), (uint64_t)(rs1), (uint64_t)(rs2));                    \
    } while (0)

#define GEMMINI_FENCE_INSN() ((void)gemmini_host_capture(0, 0xfff, 0, 0))

#else

/* funct3 = 3: xs1, xs2, no rd. funct7 must be a constant expression. */
#define ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct)                                                  \
    do {                                                                                              \
        uint64_t gemmini_rs1_ = (uint64_t)(rs1);                                                      \
        uint64_t gemmini_rs2_ = (uint64_t)(rs2);                                                      \
        __asm__ volatile(".insn r " GEMMINI_STR(GEMMINI_CUSTOM(x)) ", 3, %2, x0, %0, %1"              \
                         :                                                                            \
                         : "r"(gemmini_rs1_), "r"(gemmini_rs2_), "i"(funct)                           \
                         : "memory");                                                                 \
    } while (0)

/* funct3 = 7: xd, xs1, xs2; the accelerator's response is written to rd. */
#define ROCC_INSTRUCTION(x, rd, rs1, rs2, funct)                                                      \
    do {                                                                                              \
        uint64_t gemmini_rd_;                                                                         \
        uint64_t gemmini_rs1_ = (uint64_t)(rs1);                                                      \
        uint64_t gemmini_rs2_ = (uint64_t)(rs2);                                                      \
        __asm__ volatile(".insn r " GEMMINI_STR(GEMMINI_CUSTOM(x)) ", 7, %3, %0, %1, %2"              \
                         : "=r"(gemmini_rd_)                                                          \
                         : "r"(gemmini_rs1_), "r"(gemmini_rs2_), "i"(funct)                           \
                         : "memory");                                                                 \
        (rd) = gemmini_rd_;                                                                           \
    } while (0)

#define GEMMINI_FENCE_INSN() __asm__ volatile("fence" ::: "memory")

#endif /* GEMMINI_HOST_CAPTURE */

/* Header functions are always inlined, like the macros they stand beside, so that each instruction is
   emitted where it is written. */
#define GEMMINI_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------------------------------------------
 * Encoders: the rs1/rs2 words of every command (one definition, used by both APIs)
 * ------------------------------------------------------------------------------------------------- */

/* Generic operand word: [31:0] local address, [47:32] columns, [63:48] rows. */
GEMMINI_INLINE uint64_t gemmini_enc_operand(uint64_t addr, uint64_t cols, uint64_t rows)
{
    return (addr & 0xffffffffu) | ((cols & 0xffffu) << 32) | ((rows & 0xffffu) << 48);
}

/* CONFIG_EX rs1: [2] dataflow, [4:3] activation, [7] set_only_strides, [8] A transpose, [9] B transpose,
   [31:16] A stride, [63:32] acc_scale (float32 bits). */
GEMMINI_INLINE uint64_t gemmini_enc_config_ex_rs1(uint64_t dataflow, uint64_t act, uint32_t acc_scale_bits,
                                                 uint64_t a_stride, uint64_t a_transpose,
                                                 uint64_t b_transpose, uint64_t set_only_strides)
{
    return (uint64_t)CONFIG_EX | ((dataflow & 1) << 2) | ((act & 3) << 3) | ((set_only_strides & 1) << 7) |
           ((a_transpose & 1) << 8) | ((b_transpose & 1) << 9) | ((a_stride & 0xffffu) << 16) |
           ((uint64_t)acc_scale_bits << 32);
}

/* CONFIG_EX rs2: [31:0] in_shift, [63:48] C stride. */
GEMMINI_INLINE uint64_t gemmini_enc_config_ex_rs2(uint64_t shift, uint64_t c_stride)
{
    return (shift & 0xffffffffu) | ((c_stride & 0xffffu) << 48);
}

/* CONFIG_LD rs1: [2] shrink, [4:3] state id, [15:8] pixel repeats, [31:16] block stride,
   [63:32] scale (float32 bits). rs2 is the DRAM stride in bytes. */
GEMMINI_INLINE uint64_t gemmini_enc_config_ld_rs1(uint32_t scale_bits, uint64_t shrunk, uint64_t block_stride,
                                                 uint64_t pixel_repeats, uint64_t id)
{
    return (uint64_t)CONFIG_LD | ((shrunk & 1) << 2) | ((id & 3) << 3) | ((pixel_repeats & 0xffu) << 8) |
           ((block_stride & 0xffffu) << 16) | ((uint64_t)scale_bits << 32);
}

/* CONFIG_ST rs1: [3:2] activation, [5:4] pool stride, [7:6] pool size, [9:8] upad, [11:10] lpad,
   [31:24] pool_out_dim, [39:32] porows, [47:40] pocols, [55:48] orows, [63:56] ocols. */
GEMMINI_INLINE uint64_t gemmini_enc_config_st_rs1(uint64_t act, uint64_t pool_stride, uint64_t pool_size,
                                                 uint64_t pool_out_dim, uint64_t porows, uint64_t pocols,
                                                 uint64_t orows, uint64_t ocols, uint64_t upad, uint64_t lpad)
{
    return (uint64_t)CONFIG_ST | ((act & 3) << 2) | ((pool_stride & 3) << 4) | ((pool_size & 3) << 6) |
           ((upad & 3) << 8) | ((lpad & 3) << 10) | ((pool_out_dim & 0xffu) << 24) | ((porows & 0xffu) << 32) |
           ((pocols & 0xffu) << 40) | ((orows & 0xffu) << 48) | ((ocols & 0xffu) << 56);
}

/* CONFIG_ST rs2: [31:0] DRAM stride in bytes, [63:32] acc_scale (float32 bits). */
GEMMINI_INLINE uint64_t gemmini_enc_config_st_rs2(uint64_t stride, uint32_t acc_scale_bits)
{
    return (stride & 0xffffffffu) | ((uint64_t)acc_scale_bits << 32);
}

/* CONFIG_NORM rs1: [15:8] stats id, [16] act_msb, [17] set_stats_id_only, [18] q_const_type,
   [63:32] q_const. rs2: [31:0] igelu_qb, [63:32] igelu_qc. */
GEMMINI_INLINE uint64_t gemmini_enc_config_norm_rs1(uint64_t q_const, uint64_t q_const_type,
                                                   uint64_t set_stats_id_only, uint64_t act_msb,
                                                   uint64_t stat_id)
{
    return (uint64_t)CONFIG_NORM | ((stat_id & 0xffu) << 8) | ((act_msb & 1) << 16) |
           ((set_stats_id_only & 1) << 17) | ((q_const_type & 1) << 18) | ((q_const & 0xffffffffu) << 32);
}

GEMMINI_INLINE uint64_t gemmini_enc_config_norm_rs2(uint64_t igelu_qb, uint64_t igelu_qc)
{
    return (igelu_qb & 0xffffffffu) | ((igelu_qc & 0xffffffffu) << 32);
}

/* Counter control word: [0] reset all, [1] snapshot reset, [2] snapshot take, [3] configure,
   [6:4] counter index, [17:12] event id, [31] external event. */
GEMMINI_INLINE uint64_t gemmini_enc_counter(uint64_t reset, uint64_t snapshot_reset, uint64_t snapshot_take,
                                           uint64_t configure, uint64_t index, uint64_t event,
                                           uint64_t external)
{
    return (reset & 1) | ((snapshot_reset & 1) << 1) | ((snapshot_take & 1) << 2) | ((configure & 1) << 3) |
           ((index & 7) << 4) | ((event & 0x3fu) << 12) | ((external & 1) << 31);
}

/* Three 16-bit fields at [15:0], [31:16], [47:32] (LOOP_WS bounds). */
GEMMINI_INLINE uint64_t gemmini_enc_3x16(uint64_t lo, uint64_t mid, uint64_t hi)
{
    return (lo & 0xffffu) | ((mid & 0xffffu) << 16) | ((hi & 0xffffu) << 32);
}

/* Four 16-bit fields at [15:0], [31:16], [47:32], [63:48]. */
GEMMINI_INLINE uint64_t gemmini_enc_4x16(uint64_t f0, uint64_t f1, uint64_t f2, uint64_t f3)
{
    return (f0 & 0xffffu) | ((f1 & 0xffffu) << 16) | ((f2 & 0xffffu) << 32) | ((f3 & 0xffffu) << 48);
}

/* LOOP_WS rs1: [0] ex_accumulate, [1] full_C, [2] low_D, [10:8] activation, [17:16] b_spad_id,
   [19:18] a_spad_id. rs2: [0] A transpose, [1] B transpose, [2] is_resadd. */
GEMMINI_INLINE uint64_t gemmini_enc_loop_ws_rs1(uint64_t ex_accumulate, uint64_t full_C, uint64_t low_D,
                                               uint64_t act, uint64_t a_spad_id, uint64_t b_spad_id)
{
    return (ex_accumulate & 1) | ((full_C & 1) << 1) | ((low_D & 1) << 2) | ((act & 7) << 8) |
           ((b_spad_id & 3) << 16) | ((a_spad_id & 3) << 18);
}

GEMMINI_INLINE uint64_t gemmini_enc_loop_ws_rs2(uint64_t A_transpose, uint64_t B_transpose, uint64_t is_resadd)
{
    return (A_transpose & 1) | ((B_transpose & 1) << 1) | ((is_resadd & 1) << 2);
}

/* LOOP_CONV_WS_CONFIG_1 rs2: [15:0] out_row_dim, [31:16] pool_out_row_dim, [47:32] out_col_dim,
   [55:48] stride, [63:56] padding. */
GEMMINI_INLINE uint64_t gemmini_enc_conv_cfg1_rs2(uint64_t out_row_dim, uint64_t pool_out_row_dim,
                                                 uint64_t out_col_dim, uint64_t stride, uint64_t padding)
{
    return (out_row_dim & 0xffffu) | ((pool_out_row_dim & 0xffffu) << 16) | ((out_col_dim & 0xffffu) << 32) |
           ((stride & 0xffu) << 48) | ((padding & 0xffu) << 56);
}

/* LOOP_CONV_WS_CONFIG_2 rs1: [7:0] pool_padding, [15:8] pool_stride, [31:16] pool_size,
   [47:32] pool_out_col_dim, [63:48] kernel_dim. */
GEMMINI_INLINE uint64_t gemmini_enc_conv_cfg2_rs1(uint64_t pool_padding, uint64_t pool_stride, uint64_t pool_size,
                                                 uint64_t pool_out_col_dim, uint64_t kernel_dim)
{
    return (pool_padding & 0xffu) | ((pool_stride & 0xffu) << 8) | ((pool_size & 0xffffu) << 16) |
           ((pool_out_col_dim & 0xffffu) << 32) | ((kernel_dim & 0xffffu) << 48);
}

/* LOOP_CONV_WS_CONFIG_3 rs2: [15:0] in_col_dim, [23:16] plpad, [31:24] dpad, [47:32] upad, [63:48] rpad. */
GEMMINI_INLINE uint64_t gemmini_enc_conv_cfg3_rs2(uint64_t in_col_dim, uint64_t plpad, uint64_t dpad,
                                                 uint64_t upad, uint64_t rpad)
{
    return (in_col_dim & 0xffffu) | ((plpad & 0xffu) << 16) | ((dpad & 0xffu) << 24) | ((upad & 0xffffu) << 32) |
           ((rpad & 0xffffu) << 48);
}

/* LOOP_CONV_WS_CONFIG_4 rs1: [9:0] kernel_dilation, [20:10] pdpad, [31:21] pupad, [47:32] prpad,
   [63:48] orows. */
GEMMINI_INLINE uint64_t gemmini_enc_conv_cfg4_rs1(uint64_t kernel_dilation, uint64_t pdpad, uint64_t pupad,
                                                 uint64_t prpad, uint64_t orows)
{
    return (kernel_dilation & 0x3ffu) | ((pdpad & 0x7ffu) << 10) | ((pupad & 0x7ffu) << 21) |
           ((prpad & 0xffffu) << 32) | ((orows & 0xffffu) << 48);
}

/* LOOP_CONV_WS rs1: [0] no_bias, [1] wrot180, [2] trans_output_1203, [3] trans_weight_1203,
   [4] trans_weight_0132, [5] trans_input_3120, [6] dw, [15:8] max_pixels_per_row, [17:16] b_spad_id,
   [19:18] a_spad_id. rs2: [0] no_pool, [1] downsample, [2] input_dilated, [4:3] activation. */
GEMMINI_INLINE uint64_t gemmini_enc_loop_conv_ws_rs1(uint64_t no_bias, uint64_t wrot180, uint64_t trans_output_1203,
                                                    uint64_t trans_weight_1203, uint64_t trans_weight_0132,
                                                    uint64_t trans_input_3120, uint64_t dw,
                                                    uint64_t max_pixels_per_row, uint64_t a_spad_id,
                                                    uint64_t b_spad_id)
{
    return (no_bias & 1) | ((wrot180 & 1) << 1) | ((trans_output_1203 & 1) << 2) |
           ((trans_weight_1203 & 1) << 3) | ((trans_weight_0132 & 1) << 4) | ((trans_input_3120 & 1) << 5) |
           ((dw & 1) << 6) | ((max_pixels_per_row & 0xffu) << 8) | ((b_spad_id & 3) << 16) |
           ((a_spad_id & 3) << 18);
}

GEMMINI_INLINE uint64_t gemmini_enc_loop_conv_ws_rs2(uint64_t no_pool, uint64_t downsample, uint64_t input_dilated,
                                                    uint64_t activation)
{
    return (no_pool & 1) | ((downsample & 1) << 1) | ((input_dilated & 1) << 2) | ((activation & 3) << 3);
}

/* ---------------------------------------------------------------------------------------------------
 * (a) Gemmini's instruction macros
 * ------------------------------------------------------------------------------------------------- */

/* mvin: rs1 = DRAM byte address (0 = write zeros), rs2 = local operand (address, cols, rows). */
#define gemmini_extended_mvin(dram_addr, spad_addr, cols, rows)                                       \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(dram_addr),                           \
                             gemmini_enc_operand((spad_addr), (cols), (rows)), k_MVIN)
#define gemmini_extended_mvin2(dram_addr, spad_addr, cols, rows)                                      \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(dram_addr),                           \
                             gemmini_enc_operand((spad_addr), (cols), (rows)), k_MVIN2)
#define gemmini_extended_mvin3(dram_addr, spad_addr, cols, rows)                                      \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(dram_addr),                           \
                             gemmini_enc_operand((spad_addr), (cols), (rows)), k_MVIN3)
#define gemmini_block_mvin(dram_addr, spad_addr, len)                                                 \
    gemmini_extended_mvin(dram_addr, spad_addr, (len) * DIM, DIM)
#define gemmini_mvin(dram_addr, spad_addr) gemmini_extended_mvin(dram_addr, spad_addr, DIM, DIM)

/* mvout: rs1 = DRAM byte address, rs2 = local operand. */
#define gemmini_extended_mvout(dram_addr, spad_addr, cols, rows)                                      \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(dram_addr),                           \
                             gemmini_enc_operand((spad_addr), (cols), (rows)), k_MVOUT)
#define gemmini_mvout(dram_addr, spad_addr) gemmini_extended_mvout(dram_addr, spad_addr, DIM, DIM)

/* preload: rs1 = B (WS) or D (OS), rs2 = C, the output of the next compute. */
#define gemmini_extended_preload(BD, C, BD_cols, BD_rows, C_cols, C_rows)                             \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, gemmini_enc_operand((BD), (BD_cols), (BD_rows)),            \
                             gemmini_enc_operand((C), (C_cols), (C_rows)), k_PRELOAD)
#define gemmini_preload(BD, C) gemmini_extended_preload(BD, C, DIM, DIM, DIM, DIM)
#define gemmini_preload_zeros(C) gemmini_preload(GARBAGE_ADDR, C)

/* compute: rs1 = A, rs2 = D (WS) or B (OS). preloaded = flip to the just-preloaded buffer. */
#define gemmini_extended_compute_preloaded(A, BD, A_cols, A_rows, BD_cols, BD_rows)                   \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, gemmini_enc_operand((A), (A_cols), (A_rows)),               \
                             gemmini_enc_operand((BD), (BD_cols), (BD_rows)), k_COMPUTE_PRELOADED)
#define gemmini_extended_compute_accumulated(A, BD, A_cols, A_rows, BD_cols, BD_rows)                 \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, gemmini_enc_operand((A), (A_cols), (A_rows)),               \
                             gemmini_enc_operand((BD), (BD_cols), (BD_rows)), k_COMPUTE_ACCUMULATE)
#define gemmini_compute_preloaded(A, BD) gemmini_extended_compute_preloaded(A, BD, DIM, DIM, DIM, DIM)
#define gemmini_compute_accumulated(A, BD) gemmini_extended_compute_accumulated(A, BD, DIM, DIM, DIM, DIM)

/* config_ex */
#define gemmini_extended3_config_ex(dataflow, sys_act, sys_shift, sys_acc_scale, C_stride, A_stride,       \
                                    A_transpose, B_transpose, set_only_strides)                             \
    ROCC_INSTRUCTION_RS1_RS2(                                                                               \
        XCUSTOM_ACC,                                                                                        \
        gemmini_enc_config_ex_rs1((dataflow), (sys_act),                                                    \
                                  acc_scale_t_to_acc_scale_t_bits((acc_scale_t)(sys_acc_scale)),            \
                                  (A_stride), (A_transpose), (B_transpose), (set_only_strides)),            \
        gemmini_enc_config_ex_rs2((sys_shift), (C_stride)), k_CONFIG)
#define gemmini_extended2_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose)      \
    gemmini_extended3_config_ex(dataflow, sys_act, sys_shift, ACC_SCALE_IDENTITY, 1, A_stride, A_transpose, \
                                B_transpose, false)
#define gemmini_extended_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose)       \
    gemmini_extended2_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose)
#define gemmini_config_ex(dataflow, sys_act, sys_shift)                                                     \
    gemmini_extended_config_ex(dataflow, sys_act, sys_shift, 1, 0, 0)

/* config_ld (config_mvin): stride = DRAM row stride in bytes; id 0/1/2 configures mvin/mvin2/mvin3. */
#define gemmini_extended5_config_ld(stride, scale, shrunk, block_mvin_stride, pixel_repeats, id)           \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,                                                                   \
                             gemmini_enc_config_ld_rs1(scale_t_to_scale_t_bits((scale_t)(scale)),           \
                                                       (shrunk), (block_mvin_stride), (pixel_repeats),      \
                                                       (id)),                                               \
                             (uint64_t)(stride), k_CONFIG)
#define gemmini_extended4_config_ld(stride, scale, shrunk, block_mvin_stride, id)                           \
    gemmini_extended5_config_ld(stride, scale, shrunk, block_mvin_stride, 1, id)
#define gemmini_extended3_config_ld(stride, scale, shrunk, id)                                              \
    gemmini_extended4_config_ld(stride, scale, shrunk, DIM, id)
#define gemmini_extended2_config_ld(stride, scale, shrunk) gemmini_extended3_config_ld(stride, scale, shrunk, 0)
#define gemmini_extended_config_ld(stride, scale) gemmini_extended2_config_ld(stride, scale, false)
#define gemmini_config_ld(stride) gemmini_extended_config_ld(stride, MVIN_SCALE_IDENTITY)

/* config_st (config_mvout): stride = DRAM row stride in bytes. */
#define gemmini_extended2_config_st(stride, acc_act, acc_scale, pool_stride, pool_size, pool_out_dim, porows, \
                                    pocols, orows, ocols, upad, lpad)                                         \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,                                                                     \
                             gemmini_enc_config_st_rs1((acc_act), (pool_stride), (pool_size), (pool_out_dim), \
                                                       (porows), (pocols), (orows), (ocols), (upad), (lpad)), \
                             gemmini_enc_config_st_rs2(                                                       \
                                 (stride), acc_scale_t_to_acc_scale_t_bits((acc_scale_t)(acc_scale))),        \
                             k_CONFIG)
#define gemmini_extended_config_st(stride, acc_act, acc_scale)                                              \
    gemmini_extended2_config_st(stride, acc_act, acc_scale, 0, 0, 0, 0, 0, 0, 0, 0, 0)
#define gemmini_config_st(stride) gemmini_extended_config_st(stride, NO_ACTIVATION, ACC_SCALE_IDENTITY)

/* config_norm (I-BERT normalizer constants; accepted and ignored by this accelerator) */
#define gemmini_config_norm(q_const, q_const_type, set_stats_id_only, act_msb, stat_id, igelu_qb, igelu_qc) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,                                                                   \
                             gemmini_enc_config_norm_rs1((uint64_t)(uint32_t)(q_const), (q_const_type),     \
                                                         (set_stats_id_only), (act_msb), (stat_id)),        \
                             gemmini_enc_config_norm_rs2((uint64_t)(uint32_t)(igelu_qb),                    \
                                                         (uint64_t)(uint32_t)(igelu_qc)),                   \
                             k_CONFIG)

/* flush (TLB; accepted and ignored by this accelerator, which has no TLB) */
#define gemmini_flush(skip) ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, ((uint64_t)(skip)) & 1, 0, k_FLUSH)

/* fence: waits until the accelerator is idle and its memory writes are done */
#define gemmini_fence() GEMMINI_FENCE_INSN()

/* ---------------------------------------------------------------------------------------------------
 * Performance counters (funct7 126; 8 counters; event codes 1-44, external values 45-51)
 * ------------------------------------------------------------------------------------------------- */

#define NUM_COUNTERS 8
#define NUM_EXTERNAL_COUNTERS 7
#define COUNTER_EXTERNAL_BASE 44

enum gemmini_counter_event {
    MAIN_LD_CYCLES = 1,
    MAIN_ST_CYCLES = 2,
    MAIN_EX_CYCLES = 3,
    MAIN_LD_ST_CYCLES = 4,
    MAIN_LD_EX_CYCLES = 5,
    MAIN_ST_EX_CYCLES = 6,
    MAIN_LD_ST_EX_CYCLES = 7,
    LOAD_DMA_WAIT_CYCLE = 8,
    LOAD_ACTIVE_CYCLE = 9,
    LOAD_SCRATCHPAD_WAIT_CYCLE = 10,
    STORE_DMA_WAIT_CYCLE = 11,
    STORE_ACTIVE_CYCLE = 12,
    STORE_POOLING_CYCLE = 13,
    STORE_SCRATCHPAD_WAIT_CYCLE = 14,
    DMA_TLB_MISS_CYCLE = 15,
    DMA_TLB_HIT_REQ = 16,
    DMA_TLB_TOTAL_REQ = 17,
    RDMA_ACTIVE_CYCLE = 18,
    RDMA_TLB_WAIT_CYCLES = 19,
    RDMA_TL_WAIT_CYCLES = 20,
    WDMA_ACTIVE_CYCLE = 21,
    WDMA_TLB_WAIT_CYCLES = 22,
    WDMA_TL_WAIT_CYCLES = 23,
    EXE_ACTIVE_CYCLE = 24,
    EXE_FLUSH_CYCLE = 25,
    EXE_CONTROL_Q_BLOCK_CYCLE = 26,
    EXE_PRELOAD_HAZ_CYCLE = 27,
    EXE_OVERLAP_HAZ_CYCLE = 28,
    SCRATCHPAD_A_WAIT_CYCLE = 29,
    SCRATCHPAD_B_WAIT_CYCLE = 30,
    SCRATCHPAD_D_WAIT_CYCLE = 31,
    ACC_A_WAIT_CYCLE = 32,
    ACC_B_WAIT_CYCLE = 33,
    ACC_D_WAIT_CYCLE = 34,
    A_GARBAGE_CYCLES = 35,
    B_GARBAGE_CYCLES = 36,
    D_GARBAGE_CYCLES = 37,
    IM2COL_MEM_CYCLES = 38,
    IM2COL_ACTIVE_CYCLES = 39,
    IM2COL_TRANSPOSER_WAIT_CYCLE = 40,
    RESERVATION_STATION_FULL_CYCLES = 41,
    RESERVATION_STATION_ACTIVE_CYCLES = 42,
    LOOP_MATMUL_ACTIVE_CYCLES = 43,
    TRANSPOSE_PRELOAD_UNROLLER_ACTIVE_CYCLES = 44,
    RESERVATION_STATION_LD_COUNT = 45,
    RESERVATION_STATION_ST_COUNT = 46,
    RESERVATION_STATION_EX_COUNT = 47,
    RDMA_BYTES_REC = 48,
    WDMA_BYTES_SENT = 49,
    RDMA_TOTAL_LATENCY = 50,
    WDMA_TOTAL_LATENCY = 51
};

/* rd receives the addressed counter (or its snapshot) after the command's actions. */
#define gemmini_counter_access(rd, config_reg) ROCC_INSTRUCTION(XCUSTOM_ACC, rd, config_reg, 0, k_COUNTER)

GEMMINI_INLINE uint32_t counter_read(size_t index)
{
    uint64_t value;
    gemmini_counter_access(value, gemmini_enc_counter(0, 0, 0, 0, index, 0, 0));
    return (uint32_t)value;
}

/* Assign event `counter_code` (1-44, or 45-51 for the external values) to counter `index`; resets it. */
GEMMINI_INLINE void counter_configure(size_t index, size_t counter_code)
{
    uint64_t value;
    int external = counter_code > COUNTER_EXTERNAL_BASE;
    uint64_t event = external ? counter_code - COUNTER_EXTERNAL_BASE : counter_code;
    gemmini_counter_access(value, gemmini_enc_counter(0, 0, 0, 1, index, event, external));
    (void)value;
}

GEMMINI_INLINE void counter_snapshot_take(void)
{
    uint64_t value;
    gemmini_counter_access(value, gemmini_enc_counter(0, 0, 1, 0, 0, 0, 0));
    (void)value;
}

GEMMINI_INLINE void counter_snapshot_reset(void)
{
    uint64_t value;
    gemmini_counter_access(value, gemmini_enc_counter(0, 1, 0, 0, 0, 0, 0));
    (void)value;
}

GEMMINI_INLINE void counter_reset(void)
{
    uint64_t value;
    gemmini_counter_access(value, gemmini_enc_counter(1, 0, 0, 0, 0, 0, 0));
    (void)value;
}

/* ---------------------------------------------------------------------------------------------------
 * Loop FSM commands (LOOP_WS: funct 9-13 then 8; LOOP_CONV_WS: funct 16-21 then 15).
 * Encoded as on Gemmini; this accelerator currently reports them as UNSUPPORTED.
 * A, B, D, C: DRAM addresses (0 = skip that load/store); strides in elements; I, J, K in DIM blocks.
 * ------------------------------------------------------------------------------------------------- */

#define gemmini_loop_ws(I, J, K, pad_I, pad_J, pad_K, A, B, D, C, A_stride, B_stride, D_stride, C_stride,    \
                        A_transpose, B_transpose, full_C, low_D, ex_accumulate, act, a_spad_id, b_spad_id,   \
                        is_resadd)                                                                          \
    do {                                                                                                    \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, gemmini_enc_3x16((pad_I), (pad_J), (pad_K)),                  \
                                 gemmini_enc_3x16((I), (J), (K)), k_LOOP_WS_CONFIG_BOUNDS);                 \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(A), (uint64_t)(uintptr_t)(B),           \
                                 k_LOOP_WS_CONFIG_ADDRS_AB);                                                \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(D), (uint64_t)(uintptr_t)(C),           \
                                 k_LOOP_WS_CONFIG_ADDRS_DC);                                                \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (A_stride), (B_stride), k_LOOP_WS_CONFIG_STRIDES_AB);         \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (D_stride), (C_stride), k_LOOP_WS_CONFIG_STRIDES_DC);         \
        ROCC_INSTRUCTION_RS1_RS2(                                                                           \
            XCUSTOM_ACC,                                                                                    \
            gemmini_enc_loop_ws_rs1((ex_accumulate), (full_C), (low_D), (act), (a_spad_id), (b_spad_id)),   \
            gemmini_enc_loop_ws_rs2((A_transpose), (B_transpose), (is_resadd)), k_LOOP_WS);                 \
    } while (0)

#define gemmini_loop_conv_ws(batch_size, in_row_dim, in_col_dim, in_channels, out_channels, out_row_dim,       \
                             out_col_dim, pool_out_row_dim, pool_out_col_dim, stride, padding, kernel_dim,     \
                             kernel_dilation, pool_size, pool_stride, pool_padding, batches, porows, pocols,   \
                             pochs, krows, kcols, kchs, lpad, rpad, upad, dpad, plpad, prpad, pupad, pdpad,    \
                             orows, ocols, weights, output, bias, input, no_bias, no_pool, downsample,         \
                             wrot180, input_dilated, activation, trans_output_1203, trans_weight_1203,         \
                             trans_weight_0132, trans_input_3120, max_pixels_per_row, in_stride,               \
                             weight_stride, out_stride, dw, a_spad_id, b_spad_id)                              \
    do {                                                                                                       \
        ROCC_INSTRUCTION_RS1_RS2(                                                                              \
            XCUSTOM_ACC, gemmini_enc_4x16((batch_size), (in_row_dim), (in_channels), (out_channels)),          \
            gemmini_enc_conv_cfg1_rs2((out_row_dim), (pool_out_row_dim), (out_col_dim), (stride), (padding)),  \
            k_LOOP_CONV_WS_CONFIG_1);                                                                          \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,                                                                  \
                                 gemmini_enc_conv_cfg2_rs1((pool_padding), (pool_stride), (pool_size),         \
                                                           (pool_out_col_dim), (kernel_dim)),                  \
                                 gemmini_enc_4x16((pochs), (pocols), (porows), (batches)),                     \
                                 k_LOOP_CONV_WS_CONFIG_2);                                                     \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, gemmini_enc_4x16((lpad), (kchs), (kcols), (krows)),              \
                                 gemmini_enc_conv_cfg3_rs2((in_col_dim), (plpad), (dpad), (upad), (rpad)),     \
                                 k_LOOP_CONV_WS_CONFIG_3);                                                     \
        ROCC_INSTRUCTION_RS1_RS2(                                                                              \
            XCUSTOM_ACC, gemmini_enc_conv_cfg4_rs1((kernel_dilation), (pdpad), (pupad), (prpad), (orows)),     \
            gemmini_enc_4x16((ocols), (out_stride), (weight_stride), (in_stride)), k_LOOP_CONV_WS_CONFIG_4);   \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(weights), (uint64_t)(uintptr_t)(output),   \
                                 k_LOOP_CONV_WS_CONFIG_5);                                                     \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)(bias), (uint64_t)(uintptr_t)(input),       \
                                 k_LOOP_CONV_WS_CONFIG_6);                                                     \
        ROCC_INSTRUCTION_RS1_RS2(                                                                              \
            XCUSTOM_ACC,                                                                                       \
            gemmini_enc_loop_conv_ws_rs1((no_bias), (wrot180), (trans_output_1203), (trans_weight_1203),       \
                                         (trans_weight_0132), (trans_input_3120), (dw), (max_pixels_per_row),  \
                                         (a_spad_id), (b_spad_id)),                                            \
            gemmini_enc_loop_conv_ws_rs2((no_pool), (downsample), (input_dilated), (activation)),              \
            k_LOOP_CONV_WS);                                                                                   \
    } while (0)

/* ---------------------------------------------------------------------------------------------------
 * (c) cycle counter
 * ------------------------------------------------------------------------------------------------- */

#ifndef GEMMINI_HOST_CAPTURE
GEMMINI_INLINE uint64_t read_cycles(void)
{
    uint64_t cycles;
    __asm__ volatile("rdcycle %0" : "=r"(cycles));
    return cycles;
}
#else
uint64_t read_cycles(void);
#endif

/* ---------------------------------------------------------------------------------------------------
 * (b) The short-form API of the Autocomp prompts
 *
 *   config_ex(dataflow, act, A_stride, A_transpose, B_transpose)   shift 0, acc_scale 1.0, C stride 1
 *   config_ld(dram_stride_bytes, scale, spad_block_stride, id)     id 0/1/2 configures mvin/mvin2/mvin3
 *   config_st(stride)                                              no activation, acc_scale 1.0
 *   mvin(dram_addr, spad_acc_addr, cols, rows), mvin2(...), mvin3(...)   dram_addr 0 moves zeros
 *   preload(B_spad_addr, C_acc_addr, B_cols, B_rows, C_cols, C_rows)     B or C may be GARBAGE_ADDR
 *   compute_preloaded(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)   bias GARBAGE_ADDR: none
 *   compute_accumulated(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)
 *   mvout(dram_addr, spad_acc_addr, cols, rows)
 *   fence()
 * ------------------------------------------------------------------------------------------------- */

#ifndef GEMMINI_NO_SHORT_API

#define config_ex(dataflow, act, A_stride, A_transpose, B_transpose)                                  \
    gemmini_extended_config_ex(dataflow, act, 0, A_stride, A_transpose, B_transpose)
#define config_ld(dram_stride_bytes, scale, spad_block_stride, id)                                    \
    gemmini_extended4_config_ld(dram_stride_bytes, scale, false, spad_block_stride, id)
#define config_st(stride) gemmini_config_st(stride)
#define mvin(dram_addr, spad_acc_addr, cols, rows) gemmini_extended_mvin(dram_addr, spad_acc_addr, cols, rows)
#define mvin2(dram_addr, spad_acc_addr, cols, rows) gemmini_extended_mvin2(dram_addr, spad_acc_addr, cols, rows)
#define mvin3(dram_addr, spad_acc_addr, cols, rows) gemmini_extended_mvin3(dram_addr, spad_acc_addr, cols, rows)
#define preload(B_spad_addr, C_acc_addr, B_cols, B_rows, C_cols, C_rows)                              \
    gemmini_extended_preload(B_spad_addr, C_acc_addr, B_cols, B_rows, C_cols, C_rows)
#define compute_preloaded(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)                    \
    gemmini_extended_compute_preloaded(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)
#define compute_accumulated(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)                  \
    gemmini_extended_compute_accumulated(A_addr, bias_addr, A_cols, A_rows, bias_cols, bias_rows)
#define mvout(dram_addr, spad_acc_addr, cols, rows) gemmini_extended_mvout(dram_addr, spad_acc_addr, cols, rows)
#define fence() gemmini_fence()

#endif /* GEMMINI_NO_SHORT_API */

#endif /* GEMFORGE_GEMMINI_H */
