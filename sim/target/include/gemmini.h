/*
 * gemmini.h: the programming interface of gemforge's Gemmini-compatible accelerator.
 *
 * Written for gemforge from the published ISA description (Gemmini's RoCC instruction set); it offers
 *
 *  (a) Gemmini's instruction macros, with the same names, arguments and encodings: gemmini_mvin/mvin2/mvin3,
 *      gemmini_mvout, gemmini_preload, gemmini_compute_preloaded/accumulated, every config_ex/ld/st variant,
 *      gemmini_config_norm, gemmini_flush, gemmini_fence, the counter helpers, gemmini_loop_ws and
 *      gemmini_loop_conv_ws (the loop FSM commands; docs/accelerator.md section 6 lists what they accept);
 *  (b) the short-form API of the Autocomp prompts: config_ex, config_ld, config_st, mvin, mvin2, mvin3,
 *      preload, compute_preloaded, compute_accumulated, mvout, fence (define GEMMINI_NO_SHORT_API before
 *      including this file to leave those names free);
 *  (c) read_cycles() (rdcycle);
 *  (d) Gemmini's software library with its names and arguments: tiled_matmul, tiled_matmul_auto,
 *      tiled_conv_auto (with pooling, both dilations, rot180 and the four transposes), tiled_conv_stride_auto,
 *      tiled_conv_dw_auto, tiled_conv_downsample, tiled_global_average_auto, tiled_resadd_auto and the CPU
 *      references matmul_cpu, conv_cpu, conv_dw_cpu, global_average_cpu, resadd_cpu (what each path
 *      supports: sim/target/README.md); gemmini_nn.h adds tiled_matmul_nn(_auto) and the layer structs.
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

/* config_norm: the normalizer's I-BERT constants, stat id and activation msb (docs/accelerator.md 2.2;
   accepted and ignored on a configuration without the normalizer) */
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
 * Encoded as on Gemmini; docs/accelerator.md section 6 says which descriptors the FSMs accept (others: BAD_LOOP).
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

/* in_stride, weight_stride and out_stride count elements (elem_t), as in Gemmini: the loop FSM multiplies
   them by the element size, so the same call works on the int8 and fp32 configurations. */
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
 * (d) The software library: tiled matmul, convolution and residual add, with Gemmini's names and
 *     arguments (see sim/target/README.md for what each path supports).
 *
 * Every function is `static inline` (the two hot command loops are `static` and `noinline`, marked
 * `unused`), so a candidate and the harness (two translation units that both include this header) can
 * each use it without clashing, and unused ones cost nothing. Functions that
 * Gemmini declares `void` return an int here: 0 = done, non-zero = the arguments were rejected (a
 * message naming the problem is printed first), so existing code that ignores the result still compiles.
 *
 * The library is built for the int8/int32 datapath; on an fp32 configuration (ELEM_T_IS_FLOAT) it is left
 * out, and programs use the intrinsics above.
 * ------------------------------------------------------------------------------------------------- */

#include <stdio.h>

#ifndef ELEM_T_IS_FLOAT

/* OS / WS: the accelerator's dataflows (WS through the LOOP_WS / LOOP_CONV_WS loop FSMs); CPU: the
   plain C reference; WS_CPU_ISSUED: the WS schedule issued instruction by instruction by the CPU. */
enum tiled_matmul_type_t { OS, WS, CPU, WS_CPU_ISSUED };

/* Gemmini's name for the type of D's scale factor. */
typedef float scale_acc_t;

/* Error codes the library returns. */
#define GEMMINI_LIB_OK 0
#define GEMMINI_LIB_UNSUPPORTED 1
#define GEMMINI_LIB_BAD_ARGS 2

/* Double-buffered budgets: half the scratchpad, half the accumulator. */
#define GEMMINI_LIB_SP_ROWS ((size_t)BANK_NUM * (size_t)BANK_ROWS)
#define GEMMINI_LIB_SP_HALF ((size_t)BANK_NUM * (size_t)BANK_ROWS / 2)
#define GEMMINI_LIB_ACC_HALF ((size_t)ACC_ROWS / 2)
/* The CPU-issued conv spreads the next tile's loads over the current tile's products at this multiple of
   the even rate (1 measured best on conv_56x64; 2 and 4 were within 1%). */
#ifndef GEMMINI_LIB_CONV_LOAD_RATE
#define GEMMINI_LIB_CONV_LOAD_RATE 1
#endif

static inline size_t gemmini_lib_min(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t gemmini_lib_cdiv(size_t a, size_t b) { return (a + b - 1) / b; }
static inline size_t gemmini_lib_isqrt(size_t x)
{
    size_t r = 0;
    while ((r + 1) * (r + 1) <= x) r++;
    return r;
}

static inline uint32_t gemmini_lib_acc(size_t row) { return GEMMINI_ACC_ADDR_BIT | (uint32_t)row; }

/* The accumulator read-out of one int32 value: ReLU (if act), then the scale, clipped to int8, in the
   order the accelerator applies them. */
static inline elem_t gemmini_lib_readout(acc_t x, int act, acc_scale_t scale)
{
    if (act == RELU && x < 0) x = 0;
    return (elem_t)ACC_SCALE(x, scale);
}

/* int8 data through the mvin scaler (skipped for the identity scale: the result is the same). */
static inline int32_t gemmini_lib_mvin_scaled(elem_t x, scale_t scale, bool identity)
{
    return identity ? (int32_t)x : (int32_t)MVIN_SCALE(x, scale);
}

/* The mvin scaler as a table over all 256 int8 values (the float multiply once per value, not once
   per use). */
static inline void gemmini_lib_mvin_table(scale_t scale, elem_t table[256])
{
    const bool identity = scale == (scale_t)1.0;
    for (int v = -128; v < 128; v++) table[v + 128] = (elem_t)gemmini_lib_mvin_scaled((elem_t)v, scale, identity);
}

#ifdef HAS_NORMALIZATIONS
/* ---- the normalizer's activations (docs/accelerator.md 2.2), as the accelerator computes them ---- */

/* The I-BERT constants gemmini.h's tiled_matmul derives from bert_scale (iGELU: qb, qc; Softmax: all four). */
struct gemmini_lib_norm_k {
    int32_t qb, qc, qln2, qln2_inv;
};
static inline struct gemmini_lib_norm_k gemmini_lib_norm_consts(int act, acc_scale_t bert_scale)
{
    struct gemmini_lib_norm_k k = {0, 0, 0, 0};
    if (act == IGELU) {
        const acc_scale_t sqrt_2 = 1.41421356237, S = bert_scale;
        const acc_scale_t S_erf = (-0.2888 * ((S * S) / 2));
        k.qb = (int32_t)(-1.769 / (S / sqrt_2));
        k.qc = (int32_t)(1.0 / S_erf);
    } else if (act == SOFTMAX) {
        const scale_t a = 0.3585, b = 1.353, c = 0.344;
        k.qln2 = (int32_t)(0.693147 / bert_scale);
        k.qln2_inv = k.qln2 != 0 ? 65536 / k.qln2 : 0;
        k.qb = (int32_t)(b / bert_scale);
        k.qc = (int32_t)(c / (a * bert_scale * bert_scale));
    }
    return k;
}

/* iGELU and iexp on int32 with the accelerator's wrapping arithmetic. */
static inline int32_t gemmini_lib_igelu(int32_t q, int32_t qb, int32_t qc)
{
    const uint32_t sgn = q < 0 ? 0xffffffffu : 1u;
    const int32_t a = q < 0 ? (int32_t)(0u - (uint32_t)q) : q, nqb = (int32_t)(0u - (uint32_t)qb);
    const uint32_t t = (uint32_t)(a > nqb ? nqb : a) + (uint32_t)qb;
    const uint32_t erf = sgn * ((uint32_t)qc + t * t);
    return (int32_t)((uint32_t)q * (erf + (uint32_t)qc));
}
static inline int32_t gemmini_lib_iexp(int32_t q, const struct gemmini_lib_norm_k *k)
{
    const int64_t prod = (int64_t)(int32_t)(0u - (uint32_t)q) * (int64_t)k->qln2_inv;
    const uint32_t z = (uint32_t)((uint64_t)prod >> 16);
    const uint32_t t = (uint32_t)q + z * (uint32_t)k->qln2 + (uint32_t)k->qb;
    const uint32_t poly = (uint32_t)k->qc + t * t;
    return z >= 32 ? 0 : (int32_t)(poly >> z);
}

/* One row of J int32 sums through LayerNorm or Softmax (whole-row statistics) to int8 with `scale`. */
static inline void gemmini_lib_norm_row(const acc_t *row, size_t J, int act, acc_scale_t scale,
                                        const struct gemmini_lib_norm_k *k, elem_t *out)
{
    if (act == LAYERNORM) {
        uint32_t sum = 0, sq = 0;
        for (size_t j = 0; j < J; j++) sum += (uint32_t)row[j];
        const int32_t mean = (int32_t)sum / (int32_t)J;
        for (size_t j = 0; j < J; j++) {
            const uint32_t e = (uint32_t)row[j] - (uint32_t)mean;
            sq += e * e;
        }
        const uint32_t var = (uint32_t)((int32_t)sq / (int32_t)J);
        uint32_t sd = 0;
        while ((uint64_t)(sd + 1) * (sd + 1) <= var) sd++;
        if (sd == 0) sd = 1;
        const acc_scale_t inv = (1.0f / (float)sd) * scale;
        for (size_t j = 0; j < J; j++)
            out[j] = gemmini_lib_readout((acc_t)((uint32_t)row[j] - (uint32_t)mean), NO_ACTIVATION, inv);
    } else {
        int32_t max = row[0];
        uint32_t sum = 0;
        for (size_t j = 1; j < J; j++) max = row[j] > max ? row[j] : max;
        for (size_t j = 0; j < J; j++) sum += (uint32_t)gemmini_lib_iexp((int32_t)((uint32_t)row[j] - (uint32_t)max), k);
        const acc_scale_t inv = (127.0f / (float)(int32_t)sum) * scale;
        for (size_t j = 0; j < J; j++)
            out[j] = gemmini_lib_readout(gemmini_lib_iexp((int32_t)((uint32_t)row[j] - (uint32_t)max), k),
                                         NO_ACTIVATION, inv);
    }
}

/* Longest row the CPU reference normalizes (its row buffer). */
#define GEMMINI_LIB_NORM_MAX_J 4096
static acc_t gemmini_lib_norm_buf[GEMMINI_LIB_NORM_MAX_J];
#endif

/* The reference of every matmul path: C = readout(A'*B' + D') with A' = MVIN_SCALE(A), B' = MVIN_SCALE(B),
   D' = D (int32), or MVIN_SCALE(D) when low_D (int8 D); full_C writes the raw int32 sums instead (no
   activation, no scale, as the accelerator's full-width read-out). Sums wrap like the accumulator. A is
   I x K (K x I stored when transpose_A), B is K x J (J x K when transpose_B); strides in elements. With the
   normalizer, act IGELU, LAYERNORM or SOFTMAX (constants from bert_scale) apply to each int32 sum or row as
   the accelerator computes them (LayerNorm and Softmax rows up to GEMMINI_LIB_NORM_MAX_J long). */
static inline void gemmini_lib_matmul_ref(size_t I, size_t J, size_t K, const elem_t *A, const elem_t *B,
                                          const void *D, void *C, size_t stride_A, size_t stride_B,
                                          size_t stride_D, size_t stride_C, scale_t A_scale, scale_t B_scale,
                                          scale_acc_t D_scale, int act, acc_scale_t scale, bool repeating_bias,
                                          bool transpose_A, bool transpose_B, bool full_C, bool low_D,
                                          acc_scale_t bert_scale)
{
#ifdef HAS_NORMALIZATIONS
    const struct gemmini_lib_norm_k nk = gemmini_lib_norm_consts(act, bert_scale);
    const bool whole_row = !full_C && (act == LAYERNORM || act == SOFTMAX) && J <= GEMMINI_LIB_NORM_MAX_J;
#else
    (void)bert_scale;
#endif
    elem_t a_tab[256], b_tab[256];
    gemmini_lib_mvin_table(A_scale, a_tab);
    gemmini_lib_mvin_table(B_scale, b_tab);
    const bool d_id = D_scale == (scale_acc_t)1.0;
    for (size_t i = 0; i < I; i++) {
        const size_t d_row = repeating_bias ? 0 : i;
        for (size_t j = 0; j < J; j++) {
            uint32_t sum = 0;
            if (D != NULL) {
                sum = low_D ? (uint32_t)gemmini_lib_mvin_scaled(((const elem_t *)D)[d_row * stride_D + j],
                                                                (scale_t)D_scale, d_id)
                            : (uint32_t)((const acc_t *)D)[d_row * stride_D + j];
            }
            for (size_t k = 0; k < K; k++) {
                const elem_t a = transpose_A ? A[k * stride_A + i] : A[i * stride_A + k];
                const elem_t b = transpose_B ? B[j * stride_B + k] : B[k * stride_B + j];
                sum += (uint32_t)((int32_t)a_tab[a + 128] * (int32_t)b_tab[b + 128]);
            }
            if (full_C)
                ((acc_t *)C)[i * stride_C + j] = (acc_t)sum;
#ifdef HAS_NORMALIZATIONS
            else if (whole_row)
                gemmini_lib_norm_buf[j] = (acc_t)sum;
            else if (act == IGELU)
                ((elem_t *)C)[i * stride_C + j] =
                    gemmini_lib_readout(gemmini_lib_igelu((acc_t)sum, nk.qb, nk.qc), NO_ACTIVATION, scale);
#endif
            else
                ((elem_t *)C)[i * stride_C + j] = gemmini_lib_readout((acc_t)sum, act, scale);
        }
#ifdef HAS_NORMALIZATIONS
        if (whole_row) gemmini_lib_norm_row(gemmini_lib_norm_buf, J, act, scale, &nk, (elem_t *)C + i * stride_C);
#endif
    }
}

/* Gemmini's CPU reference: C (int8) = act/scale(A*B + D), D int32 (NULL = no bias). bert_scale gives the
   constants of the normalizer's activations. */
static inline void matmul_cpu(bool transA, bool transB, size_t DIM_I, size_t DIM_J, size_t DIM_K,
                              const elem_t *A, const elem_t *B, const acc_t *D, elem_t *C, size_t stride_A,
                              size_t stride_B, size_t stride_D, size_t stride_C, scale_t A_scale_factor,
                              scale_t B_scale_factor, scale_acc_t D_scale_factor, int act, acc_scale_t scale,
                              acc_scale_t bert_scale, bool repeating_bias)
{
    gemmini_lib_matmul_ref(DIM_I, DIM_J, DIM_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C,
                           A_scale_factor, B_scale_factor, D_scale_factor, act, scale, repeating_bias, transA,
                           transB, false, false, bert_scale);
}

/* One matmul problem as the tile loops see it (dimensions in elements, tiles in DIM blocks). */
struct gemmini_lib_mm {
    size_t I, J, K;
    const elem_t *A, *B;
    const void *D;
    void *C;
    size_t sA, sB, sD, sC;
    bool repeating_bias, tA, tB, full_C, low_D;
    int act;
    size_t tile_I, tile_J, tile_K;
    size_t I0, J0, K0; /* number of outer tiles */
};

static inline size_t gemmini_lib_sizeof_D(const struct gemmini_lib_mm *p)
{
    return p->low_D ? sizeof(elem_t) : sizeof(acc_t);
}

static inline size_t gemmini_lib_sizeof_C(const struct gemmini_lib_mm *p)
{
    return p->full_C ? sizeof(acc_t) : sizeof(elem_t);
}

/* Scratchpad rows of one tile's A and B, accumulator rows of its C (spec 5.2). */
static inline size_t gemmini_lib_mm_spad_rows(size_t ti, size_t tj, size_t tk)
{
    return (ti * tk + tk * tj) * DIM;
}
static inline size_t gemmini_lib_mm_acc_rows(size_t ti, size_t tj) { return ti * tj * DIM; }

/* The budgets of a dataflow: WS (both paths) double-buffers, so it gets half of each memory. */
static inline size_t gemmini_lib_mm_spad_budget(enum tiled_matmul_type_t t)
{
    return t == OS ? GEMMINI_LIB_SP_ROWS : GEMMINI_LIB_SP_HALF;
}
static inline size_t gemmini_lib_mm_acc_budget(enum tiled_matmul_type_t t)
{
    return t == OS ? (size_t)ACC_ROWS : GEMMINI_LIB_ACC_HALF;
}

/* The element offset of A's tile (i0, k0) (element row/col starts gi, gk) and likewise for B. */
static inline const elem_t *gemmini_lib_a_at(const struct gemmini_lib_mm *p, size_t gi, size_t gk)
{
    return p->tA ? p->A + gk * p->sA + gi : p->A + gi * p->sA + gk;
}
static inline const elem_t *gemmini_lib_b_at(const struct gemmini_lib_mm *p, size_t gk, size_t gj)
{
    return p->tB ? p->B + gj * p->sB + gk : p->B + gk * p->sB + gj;
}
static inline const void *gemmini_lib_d_at(const struct gemmini_lib_mm *p, size_t gi, size_t gj)
{
    const size_t row = p->repeating_bias ? 0 : gi;
    return (const char *)p->D + (row * p->sD + gj) * gemmini_lib_sizeof_D(p);
}
static inline void *gemmini_lib_c_at(const struct gemmini_lib_mm *p, size_t gi, size_t gj)
{
    return (char *)p->C + (gi * p->sC + gj) * gemmini_lib_sizeof_C(p);
}

/* The products of one B block (k, j) with the A blocks (0..n-1, k) into C blocks (0..n-1, j), from
   operand words: the A and C addresses advance by a_step/c_step rows per block (the address is the low
   field of the word, so a step is an add), and a_last/c_last are the words of block n-1, whose rows may
   be fewer than DIM. WS preloads B once and reuses it down the column; OS (os) passes B with every
   compute and flips every product out into the accumulator (added there), so partial sums never pass
   the array's narrower output width. Kept out of line with few live values, so the loop is a handful of
   instructions per command: the hart issues every command and its instruction count bounds the rate. */
static __attribute__((noinline, unused)) void gemmini_lib_block_column(bool os, uint64_t b_word, uint64_t a_word,
                                                                      uint64_t c_word, uint64_t a_step,
                                                                      uint64_t c_step, size_t n, uint64_t a_last,
                                                                      uint64_t c_last)
{
    const uint64_t g = gemmini_enc_operand(GARBAGE_ADDR, DIM, DIM);
    if (os) {
        for (size_t i = 1; i < n; i++, a_word += a_step, c_word += c_step) {
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, c_word, k_PRELOAD);
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_word, b_word, k_COMPUTE_PRELOADED);
        }
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, c_last, k_PRELOAD);
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_last, b_word, k_COMPUTE_PRELOADED);
        return;
    }
    if (n == 1) {
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, b_word, c_last, k_PRELOAD);
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_last, g, k_COMPUTE_PRELOADED);
        return;
    }
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, b_word, c_word, k_PRELOAD);
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_word, g, k_COMPUTE_PRELOADED);
    for (size_t i = 2; i < n; i++) {
        a_word += a_step;
        c_word += c_step;
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, c_word, k_PRELOAD);
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_word, g, k_COMPUTE_ACCUMULATE);
    }
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, c_last, k_PRELOAD);
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a_last, g, k_COMPUTE_ACCUMULATE);
}

/* One outer tile issued by the CPU. a_base/b_base: scratchpad rows of its A and B (loaded only if
   load_a/load_b; otherwise the previous tile's copy is reused), c_base: accumulator row of its C.
   Layouts: A block (i, k) at a_base + (i*nK + k)*DIM (transposed: (k*nI + i)*DIM); B block (k, j) at
   b_base + (k*nJ + j)*DIM (transposed: (j*nK + k)*DIM); C block (i, j) at c_base + (i*nJ + j)*DIM.
   Consecutive blocks along a row are DIM rows apart, so block mvins/mvouts of MAX_BLOCK_LEN blocks fit
   the default block stride. */
static inline void gemmini_lib_mm_tile(const struct gemmini_lib_mm *p, bool os, size_t i0, size_t j0, size_t k0,
                                       size_t a_base, bool load_a, size_t b_base, bool load_b, size_t c_base)
{
    const size_t gi = i0 * p->tile_I * DIM, gj = j0 * p->tile_J * DIM, gk = k0 * p->tile_K * DIM;
    const size_t ie = gemmini_lib_min(p->tile_I * DIM, p->I - gi);
    const size_t je = gemmini_lib_min(p->tile_J * DIM, p->J - gj);
    const size_t ke = gemmini_lib_min(p->tile_K * DIM, p->K - gk);
    const size_t nI = gemmini_lib_cdiv(ie, DIM), nJ = gemmini_lib_cdiv(je, DIM), nK = gemmini_lib_cdiv(ke, DIM);
    const bool bias = k0 == 0 && p->D != NULL;
    const size_t mbl = MAX_BLOCK_LEN;

    /* Bias into the accumulator (overwriting); the first product then accumulates onto it. */
    if (bias) {
        for (size_t i = 0; i < nI; i++) {
            const size_t ic = gemmini_lib_min(DIM, ie - i * DIM);
            for (size_t j = 0; j < nJ; j++) {
                const size_t jc = gemmini_lib_min(DIM, je - j * DIM);
                gemmini_extended_mvin3(gemmini_lib_d_at(p, gi + i * DIM, gj + j * DIM),
                                       gemmini_lib_acc(c_base + (i * nJ + j) * DIM), jc, ic);
            }
        }
    }

    for (size_t k = 0; k < nK; k++) {
        const size_t kc = gemmini_lib_min(DIM, ke - k * DIM);
        /* Loads just ahead of their use: A in groups of MAX_BLOCK_LEN blocks, B one block row at a time.
           (Loading further ahead measured slower: the hart issues every command, and the extra loop
           costs more than the overlap gains.) */
        if (load_a) {
            if (!p->tA && k % mbl == 0) {
                for (size_t i = 0; i < nI; i++)
                    gemmini_extended_mvin(gemmini_lib_a_at(p, gi + i * DIM, gk + k * DIM),
                                          a_base + (i * nK + k) * DIM, gemmini_lib_min(mbl * DIM, ke - k * DIM),
                                          gemmini_lib_min(DIM, ie - i * DIM));
            } else if (p->tA) {
                for (size_t i = 0; i < nI; i += mbl)
                    gemmini_extended_mvin(gemmini_lib_a_at(p, gi + i * DIM, gk + k * DIM),
                                          a_base + (k * nI + i) * DIM, gemmini_lib_min(mbl * DIM, ie - i * DIM),
                                          kc);
            }
        }
        if (load_b) {
            if (!p->tB) {
                for (size_t j = 0; j < nJ; j += mbl)
                    gemmini_extended_mvin2(gemmini_lib_b_at(p, gk + k * DIM, gj + j * DIM),
                                           b_base + (k * nJ + j) * DIM, gemmini_lib_min(mbl * DIM, je - j * DIM),
                                           kc);
            } else if (k % mbl == 0) {
                for (size_t j = 0; j < nJ; j++)
                    gemmini_extended_mvin2(gemmini_lib_b_at(p, gk + k * DIM, gj + j * DIM),
                                           b_base + (j * nK + k) * DIM, gemmini_lib_min(mbl * DIM, ke - k * DIM),
                                           gemmini_lib_min(DIM, je - j * DIM));
            }
        }
        /* The first product into a C block overwrites it unless a bias or an earlier k tile is there. */
        const uint32_t acc_bit = (k0 > 0 || k > 0 || bias) ? GEMMINI_ACCUMULATE_BIT : 0;
        /* One call per block column: the hart issues every command, so its instructions per command
           bound the issue rate; the column loop runs from precomputed operand words (see below). */
        const uint64_t a_step = (uint64_t)(p->tA ? 1 : nK) * DIM, c_step = (uint64_t)nJ * DIM;
        const size_t last_ic = ie - (nI - 1) * DIM;
        for (size_t j = 0; j < nJ; j++) {
            const size_t jc = gemmini_lib_min(DIM, je - j * DIM);
            const uint32_t b_sp = (uint32_t)(b_base + (p->tB ? j * nK + k : k * nJ + j) * DIM);
            const uint32_t a_sp = (uint32_t)(a_base + (p->tA ? k * nI : k) * DIM);
            const uint32_t c_acc = gemmini_lib_acc(c_base + j * DIM) | acc_bit;
            gemmini_lib_block_column(os, gemmini_enc_operand(b_sp, jc, kc), gemmini_enc_operand(a_sp, kc, DIM),
                                     gemmini_enc_operand(c_acc, jc, DIM), a_step, c_step, nI,
                                     gemmini_enc_operand(a_sp + (nI - 1) * a_step, kc, last_ic),
                                     gemmini_enc_operand(c_acc + (nI - 1) * c_step, jc, last_ic));
        }
    }

    if (k0 + 1 == p->K0) {
        const size_t cblk = p->full_C ? 1 : mbl; /* int32 read-outs are at most DIM columns */
        const uint32_t full = p->full_C ? GEMMINI_READ_FULL_BIT : 0;
        for (size_t i = 0; i < nI; i++) {
            const size_t ic = gemmini_lib_min(DIM, ie - i * DIM);
            for (size_t j = 0; j < nJ; j += cblk)
                gemmini_extended_mvout(gemmini_lib_c_at(p, gi + i * DIM, gj + j * DIM),
                                       gemmini_lib_acc(c_base + (i * nJ + j) * DIM) | full,
                                       gemmini_lib_min(cblk * DIM, je - j * DIM), ic);
        }
    }
}

/* The CPU-issued outer loop (WS_CPU_ISSUED and OS): i0 -> j0 -> k0. WS double-buffers: A and B of a tile
   go to one half of the scratchpad (A from its start, B ending at its end), the halves alternate with
   each new load, and C alternates between the accumulator halves, so a tile's loads and its
   predecessor's compute and mvouts overlap. A tile that needs the same A (one k tile: A is the same
   for every j0) or the same B (one j and one k tile) as its predecessor reuses it without a load. */
static inline void gemmini_lib_mm_cpu_issued(const struct gemmini_lib_mm *p, bool os)
{
    const size_t b_rows = p->tile_K * p->tile_J * DIM;
    size_t a_half = 1, b_half = 1;
    for (size_t i0 = 0; i0 < p->I0; i0++)
        for (size_t j0 = 0; j0 < p->J0; j0++)
            for (size_t k0 = 0; k0 < p->K0; k0++) {
                const bool first = i0 == 0 && j0 == 0 && k0 == 0;
                const bool load_a = first || !(p->K0 == 1 && j0 > 0);
                const bool load_b = first || !(p->K0 == 1 && p->J0 == 1);
                if (os) {
                    /* OS uses the whole memories, single-buffered. */
                    gemmini_lib_mm_tile(p, true, i0, j0, k0, 0, load_a, GEMMINI_LIB_SP_ROWS - b_rows, load_b, 0);
                    continue;
                }
                if (load_a) a_half ^= 1;
                if (load_b) b_half ^= 1;
                gemmini_lib_mm_tile(p, false, i0, j0, k0, a_half * GEMMINI_LIB_SP_HALF, load_a,
                                    (b_half + 1) * GEMMINI_LIB_SP_HALF - b_rows, load_b,
                                    ((i0 * p->J0 + j0) % 2) * GEMMINI_LIB_ACC_HALF);
            }
}

/* The LOOP_WS outer loop: one gemmini_loop_ws per outer tile. D goes with the first k tile, C with the
   last; ex_accumulate makes the first product accumulate when a bias or an earlier k tile is in the
   accumulator. When few B tiles exist (J0*K0 <= 2) they stay in fixed scratchpad halves (b_spad_id 1/2)
   and later rows of tiles pass B = NULL (no reload); likewise A when I0*K0 <= 2. */
static inline void gemmini_lib_mm_loop_ws(const struct gemmini_lib_mm *p)
{
    const size_t nI_all = gemmini_lib_cdiv(p->I, DIM), nJ_all = gemmini_lib_cdiv(p->J, DIM),
                 nK_all = gemmini_lib_cdiv(p->K, DIM);
    const size_t pad_I = nI_all * DIM - p->I, pad_J = nJ_all * DIM - p->J, pad_K = nK_all * DIM - p->K;
    const bool b_reuse = p->J0 * p->K0 <= 2 && p->I0 > 1;
    const bool a_reuse = p->I0 * p->K0 <= 2 && p->J0 > 1;
    for (size_t i0 = 0; i0 < p->I0; i0++)
        for (size_t j0 = 0; j0 < p->J0; j0++)
            for (size_t k0 = 0; k0 < p->K0; k0++) {
                const size_t gi = i0 * p->tile_I * DIM, gj = j0 * p->tile_J * DIM, gk = k0 * p->tile_K * DIM;
                const bool last_i = i0 + 1 == p->I0, last_j = j0 + 1 == p->J0, last_k = k0 + 1 == p->K0;
                const size_t I = last_i ? nI_all - i0 * p->tile_I : p->tile_I;
                const size_t J = last_j ? nJ_all - j0 * p->tile_J : p->tile_J;
                const size_t K = last_k ? nK_all - k0 * p->tile_K : p->tile_K;
                const elem_t *A = gemmini_lib_a_at(p, gi, gk);
                const elem_t *B = gemmini_lib_b_at(p, gk, gj);
                const void *D = (k0 == 0 && p->D != NULL) ? gemmini_lib_d_at(p, gi, gj) : NULL;
                void *C = last_k ? gemmini_lib_c_at(p, gi, gj) : NULL;
                int a_id = 0, b_id = 0;
                if (b_reuse) {
                    b_id = (int)(j0 * p->K0 + k0) + 1;
                    if (i0 > 0) B = NULL;
                }
                if (a_reuse) {
                    a_id = (int)(i0 * p->K0 + k0) + 1;
                    if (j0 > 0) A = NULL;
                }
                gemmini_loop_ws(I, J, K, last_i ? pad_I : 0, last_j ? pad_J : 0, last_k ? pad_K : 0, A, B, D, C,
                                p->sA, p->sB, p->repeating_bias ? 0 : p->sD, p->sC, p->tA, p->tB, p->full_C,
                                p->low_D, (k0 > 0 || D != NULL), p->act, a_id, b_id, 0);
            }
}

/* tiled_matmul with explicit tiles (in DIM blocks): C = act(scale * (A*B + D)), see
   gemmini_lib_matmul_ref for the exact arithmetic. Returns 0, or non-zero after printing why the
   arguments were rejected. */
static inline int tiled_matmul(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t *A, const elem_t *B,
                               const void *D, void *C, size_t stride_A, size_t stride_B, size_t stride_D,
                               size_t stride_C, scale_t A_scale_factor, scale_t B_scale_factor,
                               scale_acc_t D_scale_factor, int act, acc_scale_t scale, acc_scale_t bert_scale,
                               bool repeating_bias, size_t tile_I, size_t tile_J, size_t tile_K,
                               bool transpose_A, bool transpose_B, bool full_C, bool low_D, uint8_t weightA,
                               enum tiled_matmul_type_t tiled_matmul_type)
{
    (void)weightA;
    const enum tiled_matmul_type_t t = tiled_matmul_type;
    if (t != OS && t != WS && t != CPU && t != WS_CPU_ISSUED) {
        printf("tiled_matmul: unknown tiled_matmul_type %d\n", (int)t);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (dim_I == 0 || dim_J == 0 || dim_K == 0) {
        printf("tiled_matmul: empty matrix (dim_I %lu, dim_J %lu, dim_K %lu)\n", (unsigned long)dim_I,
               (unsigned long)dim_J, (unsigned long)dim_K);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (A == NULL || B == NULL || C == NULL) {
        printf("tiled_matmul: A, B and C must not be NULL\n");
        return GEMMINI_LIB_BAD_ARGS;
    }
    const bool normalizing = act == LAYERNORM || act == SOFTMAX;
#ifdef HAS_NORMALIZATIONS
    if (act != NO_ACTIVATION && act != RELU && act != LAYERNORM && act != IGELU && act != SOFTMAX) {
        printf("tiled_matmul: activation %d is not supported (NO_ACTIVATION, RELU, LAYERNORM, IGELU, SOFTMAX)\n",
               act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if ((act == IGELU || normalizing) && full_C) {
        printf("tiled_matmul: activation %d writes int8; it cannot be combined with full_C\n", act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (normalizing && t != WS && t != CPU) {
        printf("tiled_matmul: LAYERNORM and SOFTMAX are not supported on type %d (they run on the loop FSM, WS, "
               "or the CPU)\n", (int)t);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (normalizing && (dim_J > GEMMINI_LIB_NORM_MAX_J || (t == WS && tile_J * DIM < dim_J))) {
        printf("tiled_matmul: LAYERNORM and SOFTMAX need whole rows: dim_J %lu in one tile (tile_J %lu) and at "
               "most %d\n", (unsigned long)dim_J, (unsigned long)tile_J, GEMMINI_LIB_NORM_MAX_J);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (act == SOFTMAX && gemmini_lib_norm_consts(act, bert_scale).qln2 == 0) {
        printf("tiled_matmul: SOFTMAX needs bert_scale below ln 2 (qln2 = 0.693147 / bert_scale is 0)\n");
        return GEMMINI_LIB_BAD_ARGS;
    }
#else
    (void)normalizing;
    if (act != NO_ACTIVATION && act != RELU) {
        printf("tiled_matmul: activation %d is not supported (NO_ACTIVATION or RELU; LAYERNORM, IGELU and "
               "SOFTMAX need a configuration with the normalizer)\n", act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
#endif
    /* A stride shorter than a row would make rows overlap: almost certainly swapped arguments. */
    if (stride_A < (transpose_A ? dim_I : dim_K) || stride_B < (transpose_B ? dim_K : dim_J) || stride_C < dim_J ||
        (D != NULL && !repeating_bias && stride_D < dim_J)) {
        printf("tiled_matmul: a stride is shorter than its matrix's rows (stride_A %lu, stride_B %lu, stride_D %lu, "
               "stride_C %lu for dim_I %lu, dim_J %lu, dim_K %lu)\n",
               (unsigned long)stride_A, (unsigned long)stride_B, (unsigned long)stride_D, (unsigned long)stride_C,
               (unsigned long)dim_I, (unsigned long)dim_J, (unsigned long)dim_K);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (t == CPU) {
        gemmini_lib_matmul_ref(dim_I, dim_J, dim_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C,
                               A_scale_factor, B_scale_factor, D_scale_factor, act, scale, repeating_bias,
                               transpose_A, transpose_B, full_C, low_D, bert_scale);
        return GEMMINI_LIB_OK;
    }
#ifndef GEMMINI_HAS_OUTPUT_STATIONARY
    if (t == OS) {
        printf("tiled_matmul: this accelerator has no output-stationary dataflow\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
#endif
    if (t != OS && transpose_A && transpose_B) {
        printf("tiled_matmul: WS cannot transpose both A and B\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (t == OS && !transpose_A && transpose_B) {
        printf("tiled_matmul: OS cannot transpose B alone\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (tile_I == 0 || tile_J == 0 || tile_K == 0 || tile_I > 65535 || tile_J > 65535 || tile_K > 65535) {
        printf("tiled_matmul: tiles must be 1..65535 blocks (tile_I %lu, tile_J %lu, tile_K %lu)\n",
               (unsigned long)tile_I, (unsigned long)tile_J, (unsigned long)tile_K);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (gemmini_lib_mm_spad_rows(tile_I, tile_J, tile_K) > gemmini_lib_mm_spad_budget(t)) {
        printf("tiled_matmul: tiles %lux%lux%lu need %lu scratchpad rows, more than the %lu available\n",
               (unsigned long)tile_I, (unsigned long)tile_J, (unsigned long)tile_K,
               (unsigned long)gemmini_lib_mm_spad_rows(tile_I, tile_J, tile_K),
               (unsigned long)gemmini_lib_mm_spad_budget(t));
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (gemmini_lib_mm_acc_rows(tile_I, tile_J) > gemmini_lib_mm_acc_budget(t)) {
        printf("tiled_matmul: tiles %lux%lu need %lu accumulator rows, more than the %lu available\n",
               (unsigned long)tile_I, (unsigned long)tile_J, (unsigned long)gemmini_lib_mm_acc_rows(tile_I, tile_J),
               (unsigned long)gemmini_lib_mm_acc_budget(t));
        return GEMMINI_LIB_BAD_ARGS;
    }

    struct gemmini_lib_mm p;
    p.I = dim_I;
    p.J = dim_J;
    p.K = dim_K;
    p.A = A;
    p.B = B;
    p.D = D;
    p.C = C;
    p.sA = stride_A;
    p.sB = stride_B;
    p.sD = stride_D;
    p.sC = stride_C;
    p.repeating_bias = repeating_bias;
    p.tA = transpose_A;
    p.tB = transpose_B;
    p.full_C = full_C;
    p.low_D = low_D;
    p.act = act;
    p.tile_I = tile_I;
    p.tile_J = tile_J;
    p.tile_K = tile_K;
    p.I0 = gemmini_lib_cdiv(dim_I, tile_I * DIM);
    p.J0 = gemmini_lib_cdiv(dim_J, tile_J * DIM);
    p.K0 = gemmini_lib_cdiv(dim_K, tile_K * DIM);

    const size_t sizeof_D = gemmini_lib_sizeof_D(&p), sizeof_C = gemmini_lib_sizeof_C(&p);
    gemmini_extended_config_ex(t == OS ? OUTPUT_STATIONARY : WEIGHT_STATIONARY, act & 3, 0, 1, transpose_A,
                               transpose_B);
    gemmini_extended_config_st(stride_C * sizeof_C, act & 3, scale);
    gemmini_extended3_config_ld(stride_A * sizeof(elem_t), A_scale_factor, false, 0);
    gemmini_extended3_config_ld(stride_B * sizeof(elem_t), B_scale_factor, false, 1);
    gemmini_extended3_config_ld(repeating_bias ? 0 : stride_D * sizeof_D, (scale_t)D_scale_factor, low_D, 2);
#ifdef HAS_NORMALIZATIONS
    /* the normalizer's constants, as gemmini.h sets them */
    if (act == IGELU || act == SOFTMAX) {
        const struct gemmini_lib_norm_k nk = gemmini_lib_norm_consts(act, bert_scale);
        if (act == IGELU) {
            gemmini_config_norm(0, 0, 0, 0, 0, nk.qb, nk.qc);
        } else {
            gemmini_config_norm(nk.qln2, 0, 0, 1, 0, nk.qb, nk.qc);
            gemmini_config_norm(nk.qln2_inv, 1, 0, 1, 0, nk.qb, nk.qc);
        }
    }
#endif

    if (t == WS)
        gemmini_lib_mm_loop_ws(&p);
    else
        gemmini_lib_mm_cpu_issued(&p, t == OS);
    gemmini_fence();
    return GEMMINI_LIB_OK;
}

/* The tile heuristic of tiled_matmul_auto (spec 5.2): start from a square-ish C tile that fits the
   accumulator budget and a long k tile, then grow tile_J, tile_I, tile_K greedily while everything fits
   the budgets and the (padded) dimensions. */
static inline void gemmini_lib_mm_auto_tiles(size_t dim_I, size_t dim_J, size_t dim_K, enum tiled_matmul_type_t t,
                                             bool whole_j, size_t *tile_I, size_t *tile_J, size_t *tile_K)
{
    const size_t nI = gemmini_lib_cdiv(dim_I, DIM), nJ = gemmini_lib_cdiv(dim_J, DIM),
                 nK = gemmini_lib_cdiv(dim_K, DIM);
    const size_t spad = gemmini_lib_mm_spad_budget(t), acc = gemmini_lib_mm_acc_budget(t);
    size_t max_ij, max_k;
    if (t == OS) {
        max_ij = gemmini_lib_isqrt((size_t)ACC_ROWS / DIM);
        max_k = (GEMMINI_LIB_SP_HALF / DIM) / max_ij;
    } else {
        max_ij = gemmini_lib_isqrt(GEMMINI_LIB_ACC_HALF / DIM);
        max_k = (GEMMINI_LIB_SP_HALF / 2 / DIM) / max_ij;
    }
    size_t ti = gemmini_lib_min(nI, max_ij), tj = gemmini_lib_min(nJ, max_ij), tk = gemmini_lib_min(nK, max_k);
    if (whole_j) {
        /* LayerNorm/Softmax: one tile holds whole rows (as gemmini.h's tiled_matmul_auto) */
        tj = nJ;
        ti = gemmini_lib_min(nI, gemmini_lib_mm_acc_rows(1, nJ) <= acc ? acc / gemmini_lib_mm_acc_rows(1, nJ) : 1);
        while (tk > 1 && gemmini_lib_mm_spad_rows(ti, tj, tk) > spad) tk--;
        while (ti > 1 && gemmini_lib_mm_spad_rows(ti, tj, tk) > spad) ti--;
    }
    for (;;) {
        bool grew = false;
        if (!whole_j && tj + 1 <= nJ && gemmini_lib_mm_spad_rows(ti, tj + 1, tk) <= spad &&
            gemmini_lib_mm_acc_rows(ti, tj + 1) <= acc) {
            tj++;
            grew = true;
        }
        if (ti + 1 <= nI && gemmini_lib_mm_spad_rows(ti + 1, tj, tk) <= spad &&
            gemmini_lib_mm_acc_rows(ti + 1, tj) <= acc) {
            ti++;
            grew = true;
        }
        if (tk + 1 <= nK && gemmini_lib_mm_spad_rows(ti, tj, tk + 1) <= spad) {
            tk++;
            grew = true;
        }
        if (!grew) break;
    }
    *tile_I = ti;
    *tile_J = tj;
    *tile_K = tk;
}

/* tiled_matmul_auto: tiled_matmul with the tiles chosen by the heuristic above (define PRINT_TILE to
   print them). */
static inline int tiled_matmul_auto(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t *A, const elem_t *B,
                                    const void *D, void *C, size_t stride_A, size_t stride_B, size_t stride_D,
                                    size_t stride_C, scale_t A_scale_factor, scale_t B_scale_factor,
                                    scale_acc_t D_scale_factor, int act, acc_scale_t scale,
                                    acc_scale_t bert_scale, bool repeating_bias, bool transpose_A,
                                    bool transpose_B, bool full_C, bool low_D, uint8_t weightA,
                                    enum tiled_matmul_type_t tiled_matmul_type)
{
    size_t tile_I = 1, tile_J = 1, tile_K = 1;
    if (dim_I > 0 && dim_J > 0 && dim_K > 0)
        gemmini_lib_mm_auto_tiles(dim_I, dim_J, dim_K, tiled_matmul_type,
                                  tiled_matmul_type == WS && (act == LAYERNORM || act == SOFTMAX), &tile_I,
                                  &tile_J, &tile_K);
#ifdef PRINT_TILE
    printf("tile_I %lu tile_J %lu tile_K %lu\n", (unsigned long)tile_I, (unsigned long)tile_J,
           (unsigned long)tile_K);
#endif
    return tiled_matmul(dim_I, dim_J, dim_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C, A_scale_factor,
                        B_scale_factor, D_scale_factor, act, scale, bert_scale, repeating_bias, tile_I, tile_J,
                        tile_K, transpose_A, transpose_B, full_C, low_D, weightA, tiled_matmul_type);
}

#ifdef HAS_NORMALIZATIONS
/* ---- tiled_norm_auto: LayerNorm or Softmax of int32 rows on the normalizer ------------------------------ */

/* out (I x J int8, row stride J) = act(in) for act LAYERNORM or SOFTMAX (Softmax constants from bert_scale
   0.05, as gemmini.h's tiled_norm), C_scale folded into the reciprocals (docs/accelerator.md 2.2). WS (or OS):
   up to DIM rows at a time are moved into the accumulator as int32 (one mvin per DIM columns, column block
   b at accumulator row b*DIM), then per pair of rows (one stat id each) three passes of single-row
   normalizer mvouts; CPU: the exact reference. Returns 0, or non-zero after printing why the arguments were
   rejected. */
static inline int tiled_norm_auto(const size_t I, const size_t J, const acc_t *in, elem_t *out,
                                  const acc_scale_t C_scale, int act, enum tiled_matmul_type_t norm_type)
{
    if (I == 0 || J == 0 || in == NULL || out == NULL) {
        printf("tiled_norm_auto: empty matrix or NULL pointer (I %lu, J %lu)\n", (unsigned long)I, (unsigned long)J);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (act != LAYERNORM && act != SOFTMAX) {
        printf("tiled_norm_auto: act %d is not supported (LAYERNORM or SOFTMAX)\n", act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    const size_t nJ = gemmini_lib_cdiv(J, DIM);
    if (nJ * DIM > (size_t)ACC_ROWS || J > GEMMINI_LIB_NORM_MAX_J) {
        printf("tiled_norm_auto: rows of %lu elements do not fit the accumulator (%d rows of %d)\n",
               (unsigned long)J, ACC_ROWS, DIM);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    const struct gemmini_lib_norm_k nk = gemmini_lib_norm_consts(act, (acc_scale_t)0.05);
    if (norm_type == CPU) {
        for (size_t i = 0; i < I; i++) gemmini_lib_norm_row(in + i * J, J, act, C_scale, &nk, out + i * J);
        return GEMMINI_LIB_OK;
    }
    if (norm_type != WS && norm_type != OS && norm_type != WS_CPU_ISSUED) {
        printf("tiled_norm_auto: unknown type %d\n", (int)norm_type);
        return GEMMINI_LIB_BAD_ARGS;
    }
    const size_t mbl = MAX_BLOCK_LEN;
    gemmini_extended_config_st(J * sizeof(elem_t), act & 3, C_scale);
    gemmini_extended3_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 2);
    if (act == SOFTMAX) {
        gemmini_config_norm(nk.qln2, 0, 0, 1, 0, nk.qb, nk.qc);
        gemmini_config_norm(nk.qln2_inv, 1, 0, 1, 0, nk.qb, nk.qc);
    }
    static const uint32_t passes[2][3][2] = {{{1, 2}, {3, 4}, {0, 0}}, {{5, 5}, {6, 7}, {0, 0}}};
    const int which = act == LAYERNORM ? 0 : 1;
    for (size_t i = 0; i < I; i += DIM) {
        const size_t rows = gemmini_lib_min(DIM, I - i);
        for (size_t b = 0; b < nJ; b++)
            gemmini_extended_mvin3(in + i * J + b * DIM, gemmini_lib_acc(b * DIM),
                                   gemmini_lib_min(DIM, J - b * DIM), rows);
        for (size_t row = 0; row < rows; row += NORM_STAT_IDS) {
            const size_t ids = gemmini_lib_min(NORM_STAT_IDS, rows - row);
            for (int pass = 0; pass < 3; pass++)
                for (size_t id = 0; id < ids; id++) {
                    gemmini_config_norm(0, 0, 1, 0, id, 0, 0);
                    const size_t r = row + id;
                    for (size_t b = 0; b < nJ; b += mbl) {
                        const uint32_t cmd = passes[which][pass][b + mbl >= nJ];
                        gemmini_extended_mvout(out + (i + r) * J + b * DIM,
                                               gemmini_lib_acc(b * DIM + r) | (cmd << 26),
                                               gemmini_lib_min(mbl * DIM, J - b * DIM), 1);
                    }
                }
        }
    }
    gemmini_fence();
    return GEMMINI_LIB_OK;
}
#endif

/* ---- residual add ---------------------------------------------------------------------------------- */

/* CPU reference: C = readout(MVIN_SCALE(A, A_scale) + MVIN_SCALE(B, B_scale)) with ReLU if relu and
   the read-out scale C_scale; all three matrices I x J, contiguous. */
static inline void resadd_cpu(size_t I, size_t J, scale_t A_scale, scale_t B_scale, acc_scale_t C_scale,
                              const elem_t *A, const elem_t *B, elem_t *C, bool relu)
{
    const bool a_id = A_scale == (scale_t)1.0, b_id = B_scale == (scale_t)1.0;
    for (size_t i = 0; i < I * J; i++) {
        const int32_t sum = gemmini_lib_mvin_scaled(A[i], A_scale, a_id) + gemmini_lib_mvin_scaled(B[i], B_scale, b_id);
        C[i] = gemmini_lib_readout(sum, relu ? RELU : NO_ACTIVATION, C_scale);
    }
}

/* tiled_resadd_auto: the residual add above on the accelerator. A is moved into the accumulator
   (int8, scaled on the way in), B added onto it (accumulate bit), and the sum read out with ReLU and
   C_scale. WS: one gemmini_loop_ws(is_resadd) per tile (A and B are both I x J: K = J is passed as
   well); WS_CPU_ISSUED/OS: the same mvins and mvouts issued by the CPU, C tiles alternating between
   the accumulator halves; CPU: resadd_cpu. */
static inline int tiled_resadd_auto(const size_t I, const size_t J, const scale_t A_scale, const scale_t B_scale,
                                    const acc_scale_t C_scale, const elem_t *A, const elem_t *B, elem_t *C,
                                    bool relu, enum tiled_matmul_type_t matadd_type)
{
    if (I == 0 || J == 0 || A == NULL || B == NULL || C == NULL) {
        printf("tiled_resadd_auto: empty matrix or NULL pointer (I %lu, J %lu)\n", (unsigned long)I,
               (unsigned long)J);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (matadd_type == CPU) {
        resadd_cpu(I, J, A_scale, B_scale, C_scale, A, B, C, relu);
        return GEMMINI_LIB_OK;
    }
    if (matadd_type != WS && matadd_type != WS_CPU_ISSUED && matadd_type != OS) {
        printf("tiled_resadd_auto: unknown type %d\n", (int)matadd_type);
        return GEMMINI_LIB_BAD_ARGS;
    }
    const size_t nI = gemmini_lib_cdiv(I, DIM), nJ = gemmini_lib_cdiv(J, DIM);
    const size_t acc_blocks = GEMMINI_LIB_ACC_HALF / DIM;
    /* Whole rows of blocks where possible; each tile fits half the accumulator. */
    const size_t tile_J = gemmini_lib_min(nJ, acc_blocks);
    const size_t tile_I = gemmini_lib_min(nI, acc_blocks / tile_J);
    const size_t I0 = gemmini_lib_cdiv(nI, tile_I), J0 = gemmini_lib_cdiv(nJ, tile_J);
    const size_t mbl = MAX_BLOCK_LEN;

    gemmini_extended_config_st(J * sizeof(elem_t), relu ? RELU : NO_ACTIVATION, C_scale);
    gemmini_extended3_config_ld(J * sizeof(elem_t), A_scale, true, 0);
    gemmini_extended3_config_ld(J * sizeof(elem_t), B_scale, true, 1);
    for (size_t i0 = 0; i0 < I0; i0++)
        for (size_t j0 = 0; j0 < J0; j0++) {
            const size_t gi = i0 * tile_I * DIM, gj = j0 * tile_J * DIM;
            const size_t ie = gemmini_lib_min(tile_I * DIM, I - gi), je = gemmini_lib_min(tile_J * DIM, J - gj);
            const size_t tI = gemmini_lib_cdiv(ie, DIM), tJ = gemmini_lib_cdiv(je, DIM);
            if (matadd_type == WS) {
                const size_t pad_I = i0 + 1 == I0 ? tI * DIM - ie : 0, pad_J = j0 + 1 == J0 ? tJ * DIM - je : 0;
                gemmini_loop_ws(tI, tJ, tJ, pad_I, pad_J, pad_J, A + gi * J + gj, B + gi * J + gj, NULL,
                                C + gi * J + gj, J, J, 0, J, false, false, false, false, false,
                                relu ? RELU : NO_ACTIVATION, 0, 0, true);
                continue;
            }
            const size_t c_base = ((i0 * J0 + j0) % 2) * GEMMINI_LIB_ACC_HALF;
            for (size_t i = 0; i < tI; i++) {
                const size_t ic = gemmini_lib_min(DIM, ie - i * DIM);
                for (size_t j = 0; j < tJ; j += mbl) {
                    const size_t at = (gi + i * DIM) * J + gj + j * DIM;
                    const size_t cols = gemmini_lib_min(mbl * DIM, je - j * DIM);
                    const uint32_t c_acc = gemmini_lib_acc(c_base + (i * tJ + j) * DIM);
                    gemmini_extended_mvin(A + at, c_acc, cols, ic);
                    gemmini_extended_mvin2(B + at, c_acc | GEMMINI_ACCUMULATE_BIT, cols, ic);
                    gemmini_extended_mvout(C + at, c_acc, cols, ic);
                }
            }
        }
    gemmini_fence();
    return GEMMINI_LIB_OK;
}

/* ---- convolution ----------------------------------------------------------------------------------- */

/* The features outside the plain convolution paths (the heuristic tiler, the CPU-issued path); NULL if the
   arguments are plain. tiled_conv_auto sends the others through gemmini_lib_convx_run (LOOP_CONV_WS). */
static inline const char *gemmini_lib_conv_unsupported(int input_dilation, int kernel_dilation, bool wrot180,
                                                       bool trans_output_1203, bool trans_input_3120,
                                                       bool trans_weight_1203, bool trans_weight_0132,
                                                       int pool_size, int pool_stride, int pool_padding)
{
    if (input_dilation != 1) return "input_dilation != 1";
    if (kernel_dilation != 1) return "kernel_dilation != 1";
    if (wrot180) return "wrot180";
    if (trans_output_1203 || trans_input_3120 || trans_weight_1203 || trans_weight_0132)
        return "transposed layouts (trans_*)";
    if (pool_stride != 0 || pool_padding != 0 || (pool_size != 0 && pool_size != 1)) return "pooling";
    return NULL;
}

static inline int gemmini_lib_conv_check(const char *who, int batch_size, int in_row_dim, int in_col_dim,
                                         int in_channels, int out_channels, int out_row_dim, int out_col_dim,
                                         int stride, int padding, int kernel_dim, const elem_t *input,
                                         const elem_t *weights, const elem_t *output)
{
    if (batch_size <= 0 || in_row_dim <= 0 || in_col_dim <= 0 || in_channels <= 0 || out_channels <= 0 ||
        out_row_dim <= 0 || out_col_dim <= 0 || stride <= 0 || padding < 0 || kernel_dim <= 0) {
        printf("%s: dimensions must be positive (padding >= 0)\n", who);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (input == NULL || weights == NULL || output == NULL) {
        printf("%s: input, weights and output must not be NULL\n", who);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if ((out_row_dim - 1) * stride + kernel_dim > in_row_dim + 2 * padding ||
        (out_col_dim - 1) * stride + kernel_dim > in_col_dim + 2 * padding) {
        printf("%s: output %dx%d does not fit the %dx%d input with padding %d, stride %d, kernel %d\n", who,
               out_row_dim, out_col_dim, in_row_dim, in_col_dim, padding, stride, kernel_dim);
        return GEMMINI_LIB_BAD_ARGS;
    }
    return GEMMINI_LIB_OK;
}

/* ---- the whole LOOP_CONV_WS feature space (Gemmini's tiled_conv) ---------------------------------------
   One convolution layer with every flag Gemmini's tiled_conv takes: input and kernel dilation, rot180
   weights, the four transposes, depthwise weights (dw: one kernel per channel, weights [ch][krow][kcol]),
   downsampling (stride 2, 1x1 kernel, no padding: chosen automatically as Gemmini does) and max-pooling in
   the store unit. Strides are in elements. Tiles are issued as Gemmini's tiled_conv issues them (one
   LOOP_CONV_WS each; docs/accelerator.md section 6.1); the tile is the whole layer, halved along pooled rows,
   batches, pooled columns, output channels, input channels, then kernel rows and columns until it fits half
   the scratchpad and half the accumulator. */
struct gemmini_lib_convx {
    int batch_size, in_row_dim, in_col_dim, in_channels, out_channels, out_row_dim, out_col_dim;
    int stride, input_dilation, kernel_dilation, padding, kernel_dim;
    int in_stride, weight_stride, out_stride;
    bool wrot180, trans_output_1203, trans_input_3120, trans_weight_1203, trans_weight_0132, dw;
    int pool_size, pool_stride, pool_padding; /* pool_stride 0: none */
    const elem_t *input, *weights;
    const acc_t *bias;
    elem_t *output;
    int act;
    acc_scale_t scale;
};

/* The CPU reference of every convolution path, with Gemmini's conv_cpu semantics: NHWC input (CHWN with
   trans_input_3120), HWIO weights as the [kernel_dim*kernel_dim*in_channels][out_channels] matrix (WIHO with
   trans_weight_1203, HWOI with trans_weight_0132; [ch][krow][kcol] when dw, with in = out channels), int32
   bias (NULL = none), the input dilated by input_dilation (zeros between pixels), the kernel by
   kernel_dilation, rot180 weights, NHWC int8 output (HWNC with trans_output_1203) after the read-out (ReLU if
   act, then scale), max-pooled when pool_stride != 0 (zeros at the pooling padding). Strides in elements. */
static inline void gemmini_lib_conv_ref(const struct gemmini_lib_convx *c)
{
    const int bs = c->batch_size, ird = c->in_row_dim, icd = c->in_col_dim, ich = c->in_channels;
    const int och = c->out_channels, kd = c->kernel_dim, st = c->stride, pad = c->padding;
    const int idl = c->input_dilation, kdl = c->kernel_dilation;
    const bool no_pool = c->pool_stride == 0;
    const int ps = no_pool ? 1 : c->pool_size, pst = no_pool ? 1 : c->pool_stride, pp = no_pool ? 0 : c->pool_padding;
    const int prd = (c->out_row_dim + 2 * pp - ps) / pst + 1, pcd = (c->out_col_dim + 2 * pp - ps) / pst + 1;
    for (int b = 0; b < bs; b++)
        for (int pr = 0; pr < prd; pr++)
            for (int pc = 0; pc < pcd; pc++)
                for (int o = 0; o < och; o++) {
                    elem_t best = 0;
                    bool have = false;
                    for (int wr = 0; wr < ps; wr++)
                        for (int wc = 0; wc < ps; wc++) {
                            const int orow = pr * pst + wr - pp, ocol = pc * pst + wc - pp;
                            elem_t v = 0;
                            if (orow >= 0 && orow < c->out_row_dim && ocol >= 0 && ocol < c->out_col_dim) {
                                uint32_t sum = c->bias != NULL ? (uint32_t)c->bias[o] : 0;
                                for (int kr = 0; kr < kd; kr++) {
                                    const int vr = orow * st + kr * kdl - pad;
                                    if (vr < 0 || vr % idl != 0 || vr / idl >= ird) continue;
                                    for (int kc = 0; kc < kd; kc++) {
                                        const int vc = ocol * st + kc * kdl - pad;
                                        if (vc < 0 || vc % idl != 0 || vc / idl >= icd) continue;
                                        const int ir = vr / idl, ic = vc / idl;
                                        const int kr_ = c->wrot180 ? kd - 1 - kr : kr, kc_ = c->wrot180 ? kd - 1 - kc : kc;
                                        for (int k = 0; k < (c->dw ? 1 : ich); k++) {
                                            const int ch = c->dw ? o : k;
                                            const elem_t x = c->trans_input_3120
                                                                 ? c->input[(((size_t)ch * ird + ir) * icd + ic) * bs + b]
                                                                 : c->input[(((size_t)b * ird + ir) * icd + ic) * c->in_stride + ch];
                                            elem_t w;
                                            if (c->dw)
                                                w = c->weights[((size_t)o * kd + kr_) * kd + kc_];
                                            else if (c->trans_weight_1203)
                                                w = c->weights[(((size_t)k * kd + kr_) * kd + kc_) * och + o];
                                            else if (c->trans_weight_0132)
                                                w = c->weights[(((size_t)kr_ * kd + kc_) * och + o) * ich + k];
                                            else
                                                w = c->weights[(((size_t)kr_ * kd + kc_) * ich + k) * c->weight_stride + o];
                                            sum += (uint32_t)((int32_t)x * (int32_t)w);
                                        }
                                    }
                                }
                                v = gemmini_lib_readout((acc_t)sum, c->act, c->scale);
                            }
                            if (!have || v > best) best = v;
                            have = true;
                        }
                    const size_t at = c->trans_output_1203 ? (((size_t)pr * pcd + pc) * bs + b) * och + o
                                                           : (((size_t)b * prd + pr) * pcd + pc) * c->out_stride + o;
                    c->output[at] = best;
                }
}

static inline int gemmini_lib_convx_check(const char *who, const struct gemmini_lib_convx *c)
{
    if (c->batch_size <= 0 || c->in_row_dim <= 0 || c->in_col_dim <= 0 || c->in_channels <= 0 ||
        c->out_channels <= 0 || c->out_row_dim <= 0 || c->out_col_dim <= 0 || c->stride <= 0 ||
        c->padding <= -c->kernel_dim || c->kernel_dim <= 0 || c->kernel_dilation <= 0 || c->in_stride <= 0 ||
        c->weight_stride <= 0 || c->out_stride <= 0) {
        printf("%s: dimensions, strides and dilations must be positive (padding above -kernel_dim: a negative "
               "padding crops the input, as on Gemmini)\n", who);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (c->input == NULL || c->weights == NULL || c->output == NULL) {
        printf("%s: input, weights and output must not be NULL\n", who);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (c->input_dilation != 1 && (c->input_dilation != 2 || c->stride != 1 || c->kernel_dilation != 1)) {
        printf("%s: input_dilation %d: only 1, or 2 with stride 1 and kernel_dilation 1, as on Gemmini\n", who,
               c->input_dilation);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (c->trans_weight_1203 && c->trans_weight_0132) {
        printf("%s: only one weight transformation can be applied at a time\n", who);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (c->trans_input_3120 && c->trans_weight_0132) {
        printf("%s: trans_input_3120 and trans_weight_0132 cannot be combined (both operands transposed)\n", who);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (c->trans_output_1203 && c->pool_stride != 0) {
        printf("%s: the output can only be transposed without pooling\n", who);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (c->pool_stride != 0 && (c->pool_size < 1 || c->pool_size > 3 || c->pool_stride > 3 ||
                                c->pool_padding < 0 || c->pool_padding > 3)) {
        printf("%s: pooling size %d, stride %d, padding %d: size and stride 1-3, padding 0-3\n", who,
               c->pool_size, c->pool_stride, c->pool_padding);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    const int dk = c->kernel_dim + (c->kernel_dilation - 1) * (c->kernel_dim - 1);
    const int dr = c->in_row_dim + (c->input_dilation - 1) * (c->in_row_dim - 1);
    const int dc = c->in_col_dim + (c->input_dilation - 1) * (c->in_col_dim - 1);
    if ((c->out_row_dim - 1) * c->stride + dk > dr + 2 * c->padding ||
        (c->out_col_dim - 1) * c->stride + dk > dc + 2 * c->padding) {
        printf("%s: output %dx%d does not fit the %dx%d input with padding %d, stride %d, kernel %d\n", who,
               c->out_row_dim, c->out_col_dim, c->in_row_dim, c->in_col_dim, c->padding, c->stride, c->kernel_dim);
        return GEMMINI_LIB_BAD_ARGS;
    }
    return GEMMINI_LIB_OK;
}

/* CPU reference convolution with tiled_conv_auto's arguments (gemmini_lib_conv_ref; dense strides). */
static inline int conv_cpu(int batch_size, int in_row_dim, int in_col_dim, int in_channels, int out_channels,
                           int out_row_dim, int out_col_dim, int stride, int input_dilation, int kernel_dilation,
                           int padding, int kernel_dim, bool wrot180, bool trans_output_1203,
                           bool trans_input_3120, bool trans_weight_1203, bool trans_weight_0132,
                           const elem_t *input, const elem_t *weights, const acc_t *bias, elem_t *output, int act,
                           acc_scale_t scale, int pool_size, int pool_stride, int pool_padding)
{
    const struct gemmini_lib_convx c = {batch_size, in_row_dim, in_col_dim, in_channels, out_channels,
                                        out_row_dim, out_col_dim, stride, input_dilation, kernel_dilation, padding,
                                        kernel_dim, in_channels, out_channels, out_channels, wrot180,
                                        trans_output_1203, trans_input_3120, trans_weight_1203, trans_weight_0132,
                                        false, pool_size, pool_stride, pool_padding, input, weights, bias, output,
                                        act, scale};
    const int err = gemmini_lib_convx_check("conv_cpu", &c);
    if (err) return err;
    gemmini_lib_conv_ref(&c);
    return GEMMINI_LIB_OK;
}

/* CPU reference depthwise convolution (Gemmini's conv_dw_cpu): weights [channel][krow][kcol]. */
static inline int conv_dw_cpu(int batch_size, int in_row_dim, int in_col_dim, int channels, int out_row_dim,
                              int out_col_dim, int stride, int padding, int kernel_dim, const elem_t *input,
                              const elem_t *weights, const acc_t *bias, elem_t *output, int act, acc_scale_t scale,
                              int pool_size, int pool_stride, int pool_padding)
{
    const struct gemmini_lib_convx c = {batch_size, in_row_dim, in_col_dim, channels, channels, out_row_dim,
                                        out_col_dim, stride, 1, 1, padding, kernel_dim, channels, 1, channels, false,
                                        false, false, false, false, true, pool_size, pool_stride, pool_padding,
                                        input, weights, bias, output, act, scale};
    const int err = gemmini_lib_convx_check("conv_dw_cpu", &c);
    if (err) return err;
    gemmini_lib_conv_ref(&c);
    return GEMMINI_LIB_OK;
}

/* One convolution as the tile loops see it. Tile arguments, in the order of the heuristic: batches,
   orows, ocols, ochs, krows, kcols, kchs. */
enum { GEMMINI_LIB_CB, GEMMINI_LIB_COROWS, GEMMINI_LIB_COCOLS, GEMMINI_LIB_COCHS, GEMMINI_LIB_CKROWS,
       GEMMINI_LIB_CKCOLS, GEMMINI_LIB_CKCHS, GEMMINI_LIB_CARGS };

struct gemmini_lib_conv {
    int batch_size, in_row_dim, in_col_dim, in_channels, out_channels, out_row_dim, out_col_dim;
    int stride, padding, kernel_dim, act;
    const elem_t *input, *weights;
    const acc_t *bias;
    elem_t *output;
    int tile[GEMMINI_LIB_CARGS];
    /* Scratchpad rows between channel blocks of the input and between output-channel blocks of the
       weights, from the full tile: every tile uses this layout (edge tiles are smaller and fit), so one
       config_ld per operand serves them all. */
    size_t in_blk, w_blk;
};

/* Scratchpad rows of a tile (input pixels, one per row per DIM channels, including the padding border,
   plus the weight rows) and accumulator rows (one per output pixel per DIM output channels). */
static inline size_t gemmini_lib_conv_spad_rows(const int *a, int stride)
{
    /* LOOP_CONV_WS's window (Gemmini's): orows*stride + krows - 1, stride - 1 rows more than the outputs
       read; both paths budget for it so one tiling serves both. */
    const size_t irows = (size_t)a[GEMMINI_LIB_COROWS] * stride + a[GEMMINI_LIB_CKROWS] - 1;
    const size_t icols = (size_t)a[GEMMINI_LIB_COCOLS] * stride + a[GEMMINI_LIB_CKCOLS] - 1;
    const size_t in_rows = gemmini_lib_cdiv(a[GEMMINI_LIB_CKCHS], DIM) * a[GEMMINI_LIB_CB] * irows * icols;
    const size_t w_rows = gemmini_lib_cdiv(a[GEMMINI_LIB_COCHS], DIM) * a[GEMMINI_LIB_CKROWS] *
                          a[GEMMINI_LIB_CKCOLS] * a[GEMMINI_LIB_CKCHS];
    return in_rows + w_rows;
}
static inline size_t gemmini_lib_conv_acc_rows(const int *a)
{
    return gemmini_lib_cdiv(a[GEMMINI_LIB_COCHS], DIM) * a[GEMMINI_LIB_CB] * a[GEMMINI_LIB_COROWS] *
           a[GEMMINI_LIB_COCOLS];
}
static inline bool gemmini_lib_conv_fits(const int *a, int stride)
{
    return gemmini_lib_conv_spad_rows(a, stride) <= GEMMINI_LIB_SP_HALF &&
           gemmini_lib_conv_acc_rows(a) <= GEMMINI_LIB_ACC_HALF;
}

/* The tile heuristic of tiled_conv_auto: start from the whole problem; while a tile does not fit half the
   scratchpad and half the accumulator, shrink the largest argument (channels to the lower multiple of
   DIM, or by DIM; the others by one; ocols is kept while it is at most DIM and orows can still shrink);
   then grow ocols, then any argument, while the tile still fits. Returns false if nothing fits. */
static inline bool gemmini_lib_conv_auto_tiles(struct gemmini_lib_conv *c)
{
    int *a = c->tile;
    const int max[GEMMINI_LIB_CARGS] = {c->batch_size, c->out_row_dim, c->out_col_dim, c->out_channels,
                                        c->kernel_dim,  c->kernel_dim,  c->in_channels};
    for (int i = 0; i < GEMMINI_LIB_CARGS; i++) a[i] = max[i];
    while (!gemmini_lib_conv_fits(a, c->stride)) {
        int pick = -1;
        for (int i = 0; i < GEMMINI_LIB_CARGS; i++) {
            const bool chans = i == GEMMINI_LIB_COCHS || i == GEMMINI_LIB_CKCHS;
            if (chans ? a[i] <= DIM : a[i] <= 1) continue;
            if (i == GEMMINI_LIB_COCOLS && a[i] <= DIM && a[GEMMINI_LIB_COROWS] > 1) continue;
            if (pick < 0 || a[i] > a[pick]) pick = i;
        }
        if (pick < 0) return false;
        if (pick == GEMMINI_LIB_COCHS || pick == GEMMINI_LIB_CKCHS)
            a[pick] = a[pick] % DIM != 0 ? a[pick] / DIM * DIM : a[pick] - DIM;
        else
            a[pick]--;
    }
    while (a[GEMMINI_LIB_COCOLS] < max[GEMMINI_LIB_COCOLS]) {
        a[GEMMINI_LIB_COCOLS]++;
        if (!gemmini_lib_conv_fits(a, c->stride)) {
            a[GEMMINI_LIB_COCOLS]--;
            break;
        }
    }
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < GEMMINI_LIB_CARGS; i++) {
            const bool chans = i == GEMMINI_LIB_COCHS || i == GEMMINI_LIB_CKCHS;
            const int old = a[i];
            int next = old + (chans ? DIM : 1);
            if (next > max[i]) next = max[i];
            if (next == old) continue;
            a[i] = next;
            if (gemmini_lib_conv_fits(a, c->stride))
                grew = true;
            else
                a[i] = old;
        }
    }
    return true;
}

/* Origin (elements) and extent of one conv tile. */
struct gemmini_lib_conv_tile {
    int b0, orow0, ocol0, och0, krow0, kcol0, kch0;
    int nb, nor, noc, nochs, nkr, nkc, nkch;
    int irow, icol, irows, icols; /* input window: first row/col (may be negative: padding) and size */
};

static inline int gemmini_lib_imin(int a, int b) { return a < b ? a : b; }

static inline struct gemmini_lib_conv_tile gemmini_lib_conv_tile_at(const struct gemmini_lib_conv *c, int b0,
                                                                    int orow0, int ocol0, int och0, int krow0,
                                                                    int kcol0, int kch0)
{
    struct gemmini_lib_conv_tile t;
    t.b0 = b0;
    t.orow0 = orow0;
    t.ocol0 = ocol0;
    t.och0 = och0;
    t.krow0 = krow0;
    t.kcol0 = kcol0;
    t.kch0 = kch0;
    t.nb = gemmini_lib_imin(c->tile[GEMMINI_LIB_CB], c->batch_size - b0);
    t.nor = gemmini_lib_imin(c->tile[GEMMINI_LIB_COROWS], c->out_row_dim - orow0);
    t.noc = gemmini_lib_imin(c->tile[GEMMINI_LIB_COCOLS], c->out_col_dim - ocol0);
    t.nochs = gemmini_lib_imin(c->tile[GEMMINI_LIB_COCHS], c->out_channels - och0);
    t.nkr = gemmini_lib_imin(c->tile[GEMMINI_LIB_CKROWS], c->kernel_dim - krow0);
    t.nkc = gemmini_lib_imin(c->tile[GEMMINI_LIB_CKCOLS], c->kernel_dim - kcol0);
    t.nkch = gemmini_lib_imin(c->tile[GEMMINI_LIB_CKCHS], c->in_channels - kch0);
    t.irow = orow0 * c->stride + krow0 - c->padding;
    t.icol = ocol0 * c->stride + kcol0 - c->padding;
    t.irows = (t.nor - 1) * c->stride + t.nkr;
    t.icols = (t.noc - 1) * c->stride + t.nkc;
    return t;
}

/* The products of one weight block with every output pixel of a conv tile: pixels go DIM at a time
   along an output row (the last chunk of a row may be shorter: its rows field is lowered by last_adj),
   row after row, image after image; the A and C words advance by the given steps (the address is the
   low field of a word, so a step is an add). The weights are preloaded once, with the first chunk. */
struct gemmini_lib_conv_walk {
    uint64_t w_word, a_word, c_word;
    size_t nb, nor, nchunks;
    uint64_t a_b_step, a_r_step, a_c_step, c_b_step, c_r_step, last_adj;
};

static __attribute__((noinline, unused)) void gemmini_lib_conv_block(const struct gemmini_lib_conv_walk *w)
{
    /* Every field in a local first: the instructions' "memory" clobber would make the compiler reload
       them from *w after each command. */
    const uint64_t g = gemmini_enc_operand(GARBAGE_ADDR, DIM, DIM), w_word = w->w_word, adj = w->last_adj;
    const uint64_t a_b = w->a_b_step, a_r = w->a_r_step, a_c = w->a_c_step, c_b = w->c_b_step, c_r = w->c_r_step;
    const size_t nb = w->nb, nor = w->nor, nch = w->nchunks;
    bool fresh = true;
    uint64_t a_img = w->a_word, c_img = w->c_word;
    if (nch == 1) {
        /* The common case, one chunk per output row: a tight loop over the rows. */
        a_img -= adj;
        c_img -= adj;
        for (size_t b = 0; b < nb; b++, a_img += a_b, c_img += c_b) {
            uint64_t a = a_img, c = c_img;
            size_t r = 0;
            if (b == 0) {
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, w_word, c, k_PRELOAD);
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a, g, k_COMPUTE_PRELOADED);
                a += a_r;
                c += c_r;
                r = 1;
            }
            for (; r < nor; r++, a += a_r, c += c_r) {
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, c, k_PRELOAD);
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a, g, k_COMPUTE_ACCUMULATE);
            }
        }
        return;
    }
#define GEMMINI_LIB_CONV_PAIR(aw, cw)                                                                   \
    do {                                                                                              \
        if (fresh) {                                                                                  \
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, w_word, (cw), k_PRELOAD);                           \
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (aw), g, k_COMPUTE_PRELOADED);                      \
            fresh = false;                                                                            \
        } else {                                                                                      \
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, g, (cw), k_PRELOAD);                                \
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (aw), g, k_COMPUTE_ACCUMULATE);                     \
        }                                                                                             \
    } while (0)
    for (size_t b = 0; b < nb; b++, a_img += a_b, c_img += c_b) {
        uint64_t a_row = a_img, c_row = c_img;
        for (size_t r = 0; r < nor; r++, a_row += a_r, c_row += c_r) {
            uint64_t a = a_row, c = c_row;
            for (size_t ch = 1; ch < nch; ch++, a += a_c, c += DIM) GEMMINI_LIB_CONV_PAIR(a, c);
            GEMMINI_LIB_CONV_PAIR(a - adj, c - adj); /* the row's last chunk */
        }
    }
#undef GEMMINI_LIB_CONV_PAIR
}

/* The loads of one conv tile as a resumable sequence, so that they can go out a few at a time between the
   previous tile's products: the hart issues commands in order and blocks on a full queue, so loads
   issued after all of a tile's products could not overlap them. Phase 1: the input mvins (runs of up to
   DIM pixels that are all inside the image or all padding, MAX_BLOCK_LEN channel blocks each); phase 2:
   the weight mvins; 0: done. */
struct gemmini_lib_conv_loader {
    const struct gemmini_lib_conv *c;
    struct gemmini_lib_conv_tile t;
    size_t in_base, w_base;
    bool load_w;
    int phase;
    int b, r, col, q, kr, kc, kch, o;
};

static inline void gemmini_lib_conv_loader_init(struct gemmini_lib_conv_loader *l, const struct gemmini_lib_conv *c,
                                                const struct gemmini_lib_conv_tile *t, size_t in_base, bool load_in,
                                                size_t w_base, bool load_w)
{
    l->c = c;
    l->t = *t;
    l->in_base = in_base;
    l->w_base = w_base;
    l->load_w = load_w;
    l->phase = load_in ? 1 : load_w ? 2 : 0;
    l->b = l->r = l->col = l->q = l->kr = l->kc = l->kch = l->o = 0;
}

/* About how many commands the loader will issue (to spread them; padding runs may add a few). */
static inline size_t gemmini_lib_conv_loader_count(const struct gemmini_lib_conv_loader *l)
{
    const struct gemmini_lib_conv_tile *t = &l->t;
    size_t n = 0;
    if (l->phase == 1)
        n += (size_t)t->nb * t->irows * gemmini_lib_cdiv((size_t)t->icols, DIM) *
             gemmini_lib_cdiv((size_t)t->nkch, MAX_BLOCK_LEN * DIM);
    if (l->load_w)
        n += (size_t)t->nkr * t->nkc * gemmini_lib_cdiv((size_t)t->nkch, DIM) *
             gemmini_lib_cdiv((size_t)t->nochs, MAX_BLOCK_LEN * DIM);
    return n;
}

/* Issues the next load; false once all are issued. */
static inline bool gemmini_lib_conv_loader_step(struct gemmini_lib_conv_loader *l)
{
    const struct gemmini_lib_conv *c = l->c;
    const struct gemmini_lib_conv_tile *t = &l->t;
    const int mbl = MAX_BLOCK_LEN;
    if (l->phase == 1) {
        const int irow = t->irow + l->r, icol = t->icol + l->col;
        const bool row_in = irow >= 0 && irow < c->in_row_dim;
        const bool in = row_in && icol >= 0 && icol < c->in_col_dim;
        int run = 1;
        while (l->col + run < t->icols && run < DIM) {
            const int next = icol + run;
            if ((row_in && next >= 0 && next < c->in_col_dim) != in) break;
            run++;
        }
        const elem_t *src = in ? c->input +
                                     (((size_t)(t->b0 + l->b) * c->in_row_dim + irow) * c->in_col_dim + icol) *
                                         c->in_channels +
                                     t->kch0 + l->q
                               : (const elem_t *)NULL;
        gemmini_extended_mvin(src,
                              l->in_base + (size_t)(l->q / DIM) * c->in_blk +
                                  ((size_t)l->b * t->irows + l->r) * t->icols + l->col,
                              gemmini_lib_imin(mbl * DIM, t->nkch - l->q), run);
        if ((l->q += mbl * DIM) < t->nkch) return true;
        l->q = 0;
        if ((l->col += run) < t->icols) return true;
        l->col = 0;
        if (++l->r < t->irows) return true;
        l->r = 0;
        if (++l->b < t->nb) return true;
        l->phase = l->load_w ? 2 : 0;
        return true;
    }
    if (l->phase == 2) {
        const elem_t *src = c->weights +
                            ((size_t)((t->krow0 + l->kr) * c->kernel_dim + t->kcol0 + l->kc) * c->in_channels +
                             t->kch0 + l->kch) * c->out_channels +
                            t->och0 + l->o;
        gemmini_extended_mvin2(src,
                               l->w_base + (size_t)(l->o / DIM) * c->w_blk + ((size_t)l->kr * t->nkc + l->kc) * t->nkch +
                                   l->kch,
                               gemmini_lib_imin(mbl * DIM, t->nochs - l->o), gemmini_lib_imin(DIM, t->nkch - l->kch));
        if ((l->o += mbl * DIM) < t->nochs) return true;
        l->o = 0;
        if ((l->kch += DIM) < t->nkch) return true;
        l->kch = 0;
        if (++l->kc < t->nkc) return true;
        l->kc = 0;
        if (++l->kr < t->nkr) return true;
        l->phase = 0;
        return true;
    }
    return false;
}

/* One conv tile issued by the CPU (an implicit im2col in the WS dataflow).
   Scratchpad: input pixel (b, r, col) of channel block q at in_base + q*in_blk + (b*irows + r)*icols + col
   (one pixel per row, DIM channels; the padding border is loaded as zeros), weight row (och block o,
   krow, kcol, kch) at w_base + ((o*nkr + krow)*nkc + kcol)*nkch + kch. Accumulator: output pixel
   (o, b, orow, ocol) at c_base + ((o*nb + b)*nor + orow)*noc + ocol. One weight block is preloaded per
   (o, krow, kcol, kch block) and reused for all output pixels; A rows are output pixels, read with the
   A stride = conv stride (set by config_ex). This tile's own loads were issued before (by the previous
   tile, or up front for the first); the next tile's loads (`next`) go out between this tile's weight
   blocks. */
static inline void gemmini_lib_conv_tile_issue(const struct gemmini_lib_conv *c,
                                               const struct gemmini_lib_conv_tile *t, size_t in_base,
                                               size_t w_base, size_t c_base, struct gemmini_lib_conv_loader *next)
{
    const int s = c->stride;
    const size_t in_blk = c->in_blk, w_blk = c->w_blk;
    const bool first_k = t->krow0 == 0 && t->kcol0 == 0 && t->kch0 == 0;
    const bool last_k = t->krow0 + t->nkr == c->kernel_dim && t->kcol0 + t->nkc == c->kernel_dim &&
                        t->kch0 + t->nkch == c->in_channels;
    const bool bias = first_k && c->bias != NULL;
    /* The next tile's loads go out between this tile's weight blocks, GEMMINI_LIB_CONV_LOAD_RATE times
       the even rate. */
    const size_t blocks = gemmini_lib_cdiv((size_t)t->nochs, DIM) * t->nkr * t->nkc *
                          gemmini_lib_cdiv((size_t)t->nkch, DIM);
    const size_t per_block =
        gemmini_lib_cdiv(GEMMINI_LIB_CONV_LOAD_RATE * gemmini_lib_conv_loader_count(next) + 1, blocks);

    for (int o = 0; o < t->nochs; o += DIM) {
        const int jc = gemmini_lib_imin(DIM, t->nochs - o);
        const size_t c_o = c_base + (size_t)(o / DIM) * t->nb * t->nor * t->noc;
        if (bias)
            for (int b = 0; b < t->nb; b++)
                for (int orow = 0; orow < t->nor; orow++)
                    for (int ocol = 0; ocol < t->noc; ocol += DIM)
                        gemmini_extended_mvin3(c->bias + t->och0 + o,
                                               gemmini_lib_acc(c_o + ((size_t)b * t->nor + orow) * t->noc + ocol), jc,
                                               gemmini_lib_imin(DIM, t->noc - ocol));
        for (int kr = 0; kr < t->nkr; kr++)
            for (int kc = 0; kc < t->nkc; kc++)
                for (int kch = 0; kch < t->nkch; kch += DIM) {
                    const int kn = gemmini_lib_imin(DIM, t->nkch - kch);
                    const uint32_t w_sp =
                        (uint32_t)(w_base + (o / DIM) * w_blk + ((size_t)kr * t->nkc + kc) * t->nkch + kch);
                    const bool overwrite = first_k && !bias && kr == 0 && kc == 0 && kch == 0;
                    struct gemmini_lib_conv_walk w;
                    w.w_word = gemmini_enc_operand(w_sp, jc, kn);
                    w.a_word = gemmini_enc_operand(
                        (uint32_t)(in_base + (size_t)(kch / DIM) * in_blk + (size_t)kr * t->icols + kc), kn, DIM);
                    w.c_word = gemmini_enc_operand(gemmini_lib_acc(c_o) | (overwrite ? 0 : GEMMINI_ACCUMULATE_BIT),
                                                   jc, DIM);
                    w.nb = (size_t)t->nb;
                    w.nor = (size_t)t->nor;
                    w.nchunks = gemmini_lib_cdiv((size_t)t->noc, DIM);
                    w.a_b_step = (uint64_t)t->irows * t->icols;
                    w.a_r_step = (uint64_t)s * t->icols;
                    w.a_c_step = (uint64_t)s * DIM;
                    w.c_b_step = (uint64_t)t->nor * t->noc;
                    w.c_r_step = (uint64_t)t->noc;
                    w.last_adj = (uint64_t)(w.nchunks * DIM - (size_t)t->noc) << 48;
                    gemmini_lib_conv_block(&w);
                    for (size_t n = 0; n < per_block && gemmini_lib_conv_loader_step(next); n++) {
                    }
                }
        if (o + DIM >= t->nochs)
            while (gemmini_lib_conv_loader_step(next)) {
            }
        if (last_k)
            for (int b = 0; b < t->nb; b++)
                for (int orow = 0; orow < t->nor; orow++)
                    for (int ocol = 0; ocol < t->noc; ocol += DIM)
                        gemmini_extended_mvout(
                            c->output + (((size_t)(t->b0 + b) * c->out_row_dim + t->orow0 + orow) * c->out_col_dim +
                                         t->ocol0 + ocol) * c->out_channels + t->och0 + o,
                            gemmini_lib_acc(c_o + ((size_t)b * t->nor + orow) * t->noc + ocol), jc,
                            gemmini_lib_imin(DIM, t->noc - ocol));
    }
}

/* One conv tile through the LOOP_CONV_WS FSM: the tile's arguments as Gemmini's tiled_conv passes them
   (input pointing at the first pixel inside the image, the window's padding in lpad/rpad/upad/dpad; bias
   with the first k tile, a dummy address with no_bias = 1 when there is none so the accumulator starts
   from zero;
   output with the last k tile). */
static inline void gemmini_lib_conv_tile_fsm(const struct gemmini_lib_conv *c, const struct gemmini_lib_conv_tile *t)
{
    const bool first_k = t->krow0 == 0 && t->kcol0 == 0 && t->kch0 == 0;
    const bool last_k = t->krow0 + t->nkr == c->kernel_dim && t->kcol0 + t->nkc == c->kernel_dim &&
                        t->kch0 + t->nkch == c->in_channels;
    const int lpad = t->icol < 0 ? -t->icol : 0;
    /* The FSM's window is Gemmini's, stride - 1 pixels longer than t->irows / t->icols: the padding at
       its far end counts from there. */
    const int wrows = t->irows + c->stride - 1, wcols = t->icols + c->stride - 1;
    const int rpad = t->icol + wcols > c->in_col_dim ? t->icol + wcols - c->in_col_dim : 0;
    const int upad = t->irow < 0 ? -t->irow : 0;
    const int dpad = t->irow + wrows > c->in_row_dim ? t->irow + wrows - c->in_row_dim : 0;
    const elem_t *in = c->input + (((size_t)t->b0 * c->in_row_dim + t->irow + upad) * c->in_col_dim + t->icol + lpad) *
                                      c->in_channels + t->kch0;
    const elem_t *w = c->weights + ((size_t)(t->krow0 * c->kernel_dim + t->kcol0) * c->in_channels + t->kch0) *
                                       c->out_channels + t->och0;
    elem_t *out = last_k ? c->output + (((size_t)t->b0 * c->out_row_dim + t->orow0) * c->out_col_dim + t->ocol0) *
                                           c->out_channels + t->och0
                         : (elem_t *)NULL;
    /* As Gemmini's tiled_conv: without a bias the first k tile passes a dummy non-zero address with
       no_bias = 1 (zeros are loaded); a NULL bias loads nothing, so later k tiles accumulate. */
    const acc_t *bias = !first_k ? (const acc_t *)NULL : c->bias != NULL ? c->bias + t->och0 : (const acc_t *)1;
    const bool no_bias = c->bias == NULL;
    gemmini_loop_conv_ws(c->batch_size, c->in_row_dim, c->in_col_dim, c->in_channels, c->out_channels,
                         c->out_row_dim, c->out_col_dim, c->out_row_dim, c->out_col_dim, c->stride, c->padding,
                         c->kernel_dim, 1, 1, 1, 0, t->nb, t->nor, t->noc, t->nochs, t->nkr, t->nkc, t->nkch, lpad,
                         rpad, upad, dpad, 0, 0, 0, 0, t->nor, t->noc, w, out, bias, in, no_bias, true, false, false,
                         false, c->act, false, false, false, false, 1, c->in_channels, c->out_channels,
                         c->out_channels, false, 0, 0);
}

/* Upper bounds of the scratchpad and accumulator rows of a tile (batches, porows, pocols, pochs, krows,
   kcols, kchs) and whether its pooled geometry fits config_st's 8-bit fields. */
static inline bool gemmini_lib_convx_fits(const struct gemmini_lib_convx *c, const int *t, bool downsample)
{
    const int ps = c->pool_stride ? c->pool_size : 1, pst = c->pool_stride ? c->pool_stride : 1;
    const size_t orows = (size_t)t[1] * pst + ps - 1, ocols = (size_t)t[2] * pst + ps - 1;
    const size_t dkr = t[4] + (size_t)(c->kernel_dilation - 1) * (t[4] - 1);
    const size_t dkc = t[5] + (size_t)(c->kernel_dilation - 1) * (t[5] - 1);
    size_t irows = orows * c->stride + dkr - 1, icols = ocols * c->stride + dkc - 1;
    if (c->input_dilation == 2) {
        irows = irows / 2 + 3;
        icols = icols / 2 + 3;
    }
    if (downsample) {
        irows /= 2;
        icols /= 2;
    }
    const int kchs = c->dw ? 1 : t[6], pochs = c->dw ? 1 : t[3];
    const size_t in_rows = c->trans_input_3120
                               ? gemmini_lib_cdiv(t[0], DIM) * (size_t)kchs * irows * icols
                               : gemmini_lib_cdiv(kchs, DIM) * (size_t)t[0] * irows * icols;
    const size_t w_rows = c->trans_weight_0132 ? gemmini_lib_cdiv(kchs, DIM) * (size_t)t[4] * t[5] * pochs
                                               : gemmini_lib_cdiv(pochs, DIM) * (size_t)t[4] * t[5] * kchs;
    const size_t acc_rows = gemmini_lib_cdiv(pochs, DIM) * (size_t)t[0] * orows * ocols;
    if (c->pool_stride && (orows > 255 || ocols > 255)) return false;
    return in_rows + w_rows <= GEMMINI_LIB_SP_HALF && acc_rows <= GEMMINI_LIB_ACC_HALF;
}

static inline int gemmini_lib_convx_run(const char *who, const struct gemmini_lib_convx *c)
{
    const int bs = c->batch_size, ird = c->in_row_dim, icd = c->in_col_dim, ich = c->in_channels;
    const int och = c->out_channels, kd = c->kernel_dim, st = c->stride, pad = c->padding;
    const int idl = c->input_dilation, kdl = c->kernel_dilation;
    const bool no_pool = c->pool_stride == 0;
    const int ps = no_pool ? 1 : c->pool_size, pst = no_pool ? 1 : c->pool_stride, pp = no_pool ? 0 : c->pool_padding;
    const int ord = c->out_row_dim, ocd = c->out_col_dim;
    const int prd = (ord + 2 * pp - ps) / pst + 1, pcd = (ocd + 2 * pp - ps) / pst + 1;
    const bool input_dilated = idl == 2;
    const bool downsample = !c->dw && st == 2 && kd == 1 && ird % 2 == 0 && icd % 2 == 0 && pad == 0 && no_pool &&
                            idl == 1 && !c->trans_input_3120;
    const int dil_ird = ird + (idl - 1) * (ird - 1), dil_icd = icd + (idl - 1) * (icd - 1);
    int t[7] = {bs, prd, pcd, c->dw ? 1 : och, kd, kd, c->dw ? 1 : ich};
    static const int order[7] = {1, 0, 2, 3, 6, 4, 5};
    while (!gemmini_lib_convx_fits(c, t, downsample)) {
        /* (Gemmini's LoopConv addresses a CHWN input with the tile's batch count: whole batches only; and a
           kernel split into tiles is mis-tiled with dilations or paddings of 2 or more) */
        const bool keep_b = c->trans_input_3120;
        const bool keep_k = c->padding >= 2 || kdl > 1 || idl > 1;
        /* (and a one-pixel window on an input-dilation hole gets padding on both sides: whole images) */
        const bool keep_px = idl > 1;
        int k = 0;
        while (k < 7 && (t[order[k]] == 1 || (order[k] == 0 && keep_b) || (order[k] >= 4 && order[k] <= 5 && keep_k) ||
                         ((order[k] == 1 || order[k] == 2) && keep_px)))
            k++;
        if (k == 7) {
            printf("%s: no tile of this convolution fits half the scratchpad and accumulator\n", who);
            return GEMMINI_LIB_UNSUPPORTED;
        }
        t[order[k]] = (t[order[k]] + 1) / 2;
    }
    const int st_stride = c->trans_output_1203 ? bs * och : c->out_stride;
    gemmini_extended_config_st((size_t)st_stride * sizeof(elem_t), c->act & 3, c->scale);
    gemmini_extended3_config_ex(WEIGHT_STATIONARY, 0, 0, ACC_SCALE_IDENTITY, idl, st >> (downsample ? 1 : 0),
                                c->trans_input_3120, c->trans_weight_0132, false);
    for (int b = 0; b < bs; b += t[0])
        for (int porow = 0; porow < prd; porow += t[1]) {
            const int orow = porow * pst - pp;
            for (int pocol = 0; pocol < pcd; pocol += t[2]) {
                const int ocol = pocol * pst - pp;
                /* depthwise: one channel per tile (kchs = pochs = 1), as Gemmini's tiled_conv_dw */
                for (int poch = 0; poch < och; poch += c->dw ? 1 : t[3])
                    for (int krow = 0; krow < kd; krow += t[4]) {
                        const int irow = (orow < 0 ? 0 : orow) * st + krow * kdl - pad;
                        for (int kcol = 0; kcol < kd; kcol += t[5]) {
                            const int icol = (ocol < 0 ? 0 : ocol) * st + kcol * kdl - pad;
                            for (int kch = 0; kch < (c->dw ? 1 : ich); kch += t[6]) {
                                const int batches = gemmini_lib_imin(t[0], bs - b);
                                const int porows = gemmini_lib_imin(t[1], prd - porow);
                                const int pocols = gemmini_lib_imin(t[2], pcd - pocol);
                                const int pochs = c->dw ? 1 : gemmini_lib_imin(t[3], och - poch);
                                const int krows = gemmini_lib_imin(t[4], kd - krow);
                                const int kcols = gemmini_lib_imin(t[5], kd - kcol);
                                const int kchs = c->dw ? 1 : gemmini_lib_imin(t[6], ich - kch);
                                const bool first_k = krow == 0 && kcol == 0 && kch == 0;
                                const bool last_k = krow + krows >= kd && kcol + kcols >= kd &&
                                                    (c->dw || kch + kchs >= ich);
                                const int ocols_ = pocols * pst + ps - 1, orows_ = porows * pst + ps - 1;
                                const int plpad = ocol < 0 ? -ocol : 0;
                                const int prpad = ocol + ocols_ > ocd ? ocol + ocols_ - ocd : 0;
                                const int pupad = orow < 0 ? -orow : 0;
                                const int pdpad = orow + orows_ > ord ? orow + orows_ - ord : 0;
                                const int dkr = krows + (kdl - 1) * (krows - 1), dkc = kcols + (kdl - 1) * (kcols - 1);
                                const int icols_ = (ocols_ - plpad - prpad) * st + dkc - 1;
                                const int irows_ = (orows_ - pupad - pdpad) * st + dkr - 1;
                                int lpad = icol < 0 ? -icol : 0;
                                int rpad = icol + icols_ > dil_icd ? icol + icols_ - dil_icd : 0;
                                int upad = irow < 0 ? -irow : 0;
                                int dpad = irow + irows_ > dil_ird ? irow + irows_ - dil_ird : 0;
                                if (input_dilated) {
                                    lpad += lpad == 0 && icol % 2 != 0;
                                    rpad += rpad == 0 && (icol + icols_) % 2 != 1;
                                    upad += upad == 0 && irow % 2 != 0;
                                    dpad += dpad == 0 && (irow + irows_) % 2 != 1;
                                }
                                const int krow_ = c->wrot180 ? kd - krow - krows : krow;
                                const int kcol_ = c->wrot180 ? kd - kcol - kcols : kcol;
                                const elem_t *w;
                                if (c->dw)
                                    w = c->weights + ((size_t)poch * kd + krow) * kd + kcol;
                                else if (c->trans_weight_1203)
                                    w = c->weights + ((size_t)kch * kd * kd + krow_ * kd + kcol_) * och + poch;
                                else if (c->trans_weight_0132)
                                    w = c->weights + ((size_t)krow_ * kd * och + kcol_ * och + poch) * ich + kch;
                                else
                                    w = c->weights + ((size_t)krow_ * kd * ich + kcol_ * ich + kch) * c->weight_stride +
                                        poch;
                                const int sr = input_dilated ? (irow + upad) >> 1 : irow + upad;
                                const int sc = input_dilated ? (icol + lpad) >> 1 : icol + lpad;
                                const elem_t *in =
                                    c->trans_input_3120
                                        ? c->input + ((size_t)kch * ird * icd + (size_t)sr * icd + sc) * bs + b
                                        : c->input + ((size_t)b * ird * icd + (size_t)sr * icd + sc) * c->in_stride +
                                              (c->dw ? poch : kch);
                                elem_t *out = NULL;
                                if (last_k)
                                    out = c->trans_output_1203
                                              ? c->output + ((size_t)porow * pcd * bs + (size_t)pocol * bs + b) * och + poch
                                              : c->output + ((size_t)b * prd * pcd + (size_t)porow * pcd + pocol) *
                                                                c->out_stride + poch;
                                const acc_t *bias = !first_k ? (const acc_t *)NULL
                                                    : c->bias != NULL ? c->bias + poch : (const acc_t *)1;
                                const int orows = porows * pst + ps - 1 - pupad - pdpad;
                                const int ocols = pocols * pst + ps - 1 - plpad - prpad;
                                gemmini_loop_conv_ws(bs, ird, icd, ich, och, ord, ocd, prd, pcd, st, pad, kd, kdl, ps,
                                                     pst, pp, batches, porows, pocols, pochs, krows, kcols, kchs,
                                                     lpad, rpad, upad, dpad, plpad, prpad, pupad, pdpad, orows, ocols,
                                                     w, out, bias, in, c->bias == NULL, no_pool, downsample,
                                                     c->wrot180, input_dilated, c->act & 3, c->trans_output_1203,
                                                     c->trans_weight_1203, c->trans_weight_0132,
                                                     c->trans_input_3120, 1, c->in_stride, c->weight_stride,
                                                     c->out_stride, c->dw, 0, 0);
                            }
                        }
                    }
            }
        }
    gemmini_fence();
    return GEMMINI_LIB_OK;
}

/* tiled_conv_auto: a convolution (layouts as conv_cpu) tiled by the heuristic above. WS: one
   gemmini_loop_conv_ws per tile; WS_CPU_ISSUED: the same tiles issued by the CPU, double-buffered (input
   and weights in alternating scratchpad halves, reused when the next tile needs the same ones; outputs
   in alternating accumulator halves); CPU: conv_cpu; OS: rejected, as on Gemmini. Tile loop order:
   batch -> orows -> ocols -> ochs -> krows -> kcols -> kchs, so each output tile accumulates over the
   kernel tiles, starting from the bias. Returns 0, or non-zero after printing why the arguments were
   rejected. */
static inline int tiled_conv_auto(int batch_size, int in_row_dim, int in_col_dim, int in_channels,
                                  int out_channels, int out_row_dim, int out_col_dim, int stride,
                                  int input_dilation, int kernel_dilation, int padding, int kernel_dim,
                                  bool wrot180, bool trans_output_1203, bool trans_input_3120,
                                  bool trans_weight_1203, bool trans_weight_0132, const elem_t *input,
                                  const elem_t *weights, const acc_t *bias, elem_t *output, int act,
                                  acc_scale_t scale, int pool_size, int pool_stride, int pool_padding,
                                  enum tiled_matmul_type_t tiled_conv_type)
{
    if (tiled_conv_type == CPU)
        return conv_cpu(batch_size, in_row_dim, in_col_dim, in_channels, out_channels, out_row_dim, out_col_dim,
                        stride, input_dilation, kernel_dilation, padding, kernel_dim, wrot180, trans_output_1203,
                        trans_input_3120, trans_weight_1203, trans_weight_0132, input, weights, bias, output, act,
                        scale, pool_size, pool_stride, pool_padding);
    if (tiled_conv_type != WS && tiled_conv_type != WS_CPU_ISSUED) {
        printf("tiled_conv_auto: only the WS, WS_CPU_ISSUED and CPU types are supported (got %d)\n",
               (int)tiled_conv_type);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    if (act != NO_ACTIVATION && act != RELU) {
        printf("tiled_conv_auto: activation %d is not supported (NO_ACTIVATION or RELU)\n", act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    /* a 1x1 pooling window with stride 1 and no padding is no pooling */
    if (pool_size == 1 && pool_stride == 1 && pool_padding == 0) pool_stride = 0;
    const char *why = gemmini_lib_conv_unsupported(input_dilation, kernel_dilation, wrot180, trans_output_1203,
                                                   trans_input_3120, trans_weight_1203, trans_weight_0132,
                                                   pool_size, pool_stride, pool_padding);
    if (why != NULL) {
        /* the whole LOOP_CONV_WS feature space, tiled as Gemmini's tiled_conv */
        if (tiled_conv_type != WS) {
            printf("tiled_conv_auto: %s needs the WS type (the LOOP_CONV_WS path)\n", why);
            return GEMMINI_LIB_UNSUPPORTED;
        }
        const struct gemmini_lib_convx x = {batch_size, in_row_dim, in_col_dim, in_channels, out_channels,
                                            out_row_dim, out_col_dim, stride, input_dilation, kernel_dilation,
                                            padding, kernel_dim, in_channels, out_channels, out_channels, wrot180,
                                            trans_output_1203, trans_input_3120, trans_weight_1203,
                                            trans_weight_0132, false, pool_size, pool_stride, pool_padding, input,
                                            weights, bias, output, act, scale};
        const int e = gemmini_lib_convx_check("tiled_conv_auto", &x);
        return e ? e : gemmini_lib_convx_run("tiled_conv_auto", &x);
    }
    int err = gemmini_lib_conv_check("tiled_conv_auto", batch_size, in_row_dim, in_col_dim, in_channels,
                                     out_channels, out_row_dim, out_col_dim, stride, padding, kernel_dim, input,
                                     weights, output);
    if (err) return err;

    struct gemmini_lib_conv c;
    c.batch_size = batch_size;
    c.in_row_dim = in_row_dim;
    c.in_col_dim = in_col_dim;
    c.in_channels = in_channels;
    c.out_channels = out_channels;
    c.out_row_dim = out_row_dim;
    c.out_col_dim = out_col_dim;
    c.stride = stride;
    c.padding = padding;
    c.kernel_dim = kernel_dim;
    c.act = act;
    c.input = input;
    c.weights = weights;
    c.bias = bias;
    c.output = output;
    if (!gemmini_lib_conv_auto_tiles(&c)) {
        printf("tiled_conv_auto: no tile of this convolution fits half the scratchpad and accumulator\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
#ifdef PRINT_TILE
    printf("conv tile: batches %d orows %d ocols %d ochs %d krows %d kcols %d kchs %d\n", c.tile[0], c.tile[1],
           c.tile[2], c.tile[3], c.tile[4], c.tile[5], c.tile[6]);
#endif
    const int *tl = c.tile;
    const size_t w_rows = gemmini_lib_cdiv(tl[GEMMINI_LIB_COCHS], DIM) * tl[GEMMINI_LIB_CKROWS] *
                          tl[GEMMINI_LIB_CKCOLS] * tl[GEMMINI_LIB_CKCHS];

    gemmini_extended_config_st((size_t)out_channels * sizeof(elem_t), act & 3, scale);
    gemmini_extended3_config_ex(WEIGHT_STATIONARY, 0, 0, ACC_SCALE_IDENTITY, 1, stride, false, false, false);
    c.in_blk = (size_t)tl[GEMMINI_LIB_CB] *
               ((size_t)(tl[GEMMINI_LIB_COROWS] - 1) * stride + tl[GEMMINI_LIB_CKROWS]) *
               ((size_t)(tl[GEMMINI_LIB_COCOLS] - 1) * stride + tl[GEMMINI_LIB_CKCOLS]);
    c.w_blk = (size_t)tl[GEMMINI_LIB_CKROWS] * tl[GEMMINI_LIB_CKCOLS] * tl[GEMMINI_LIB_CKCHS];
    if (tiled_conv_type == WS_CPU_ISSUED) {
        gemmini_extended4_config_ld((size_t)in_channels * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, c.in_blk, 0);
        gemmini_extended4_config_ld((size_t)out_channels * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, c.w_blk, 1);
        gemmini_extended4_config_ld(0, MVIN_SCALE_IDENTITY, false, DIM, 2); /* bias: one row, repeated */
    }

    /* Keys of the input and weights most recently loaded, for reuse. The CPU-issued path runs one tile
       behind the loop, so that each tile's products carry the next tile's loads. */
    long in_key = -1, w_key = -1;
    size_t in_half = 1, w_half = 1, out_tiles = 0;
    bool have_prev = false;
    struct gemmini_lib_conv_tile prev;
    size_t prev_in = 0, prev_w = 0, prev_c = 0;
    struct gemmini_lib_conv_loader loader;
    for (int b0 = 0; b0 < batch_size; b0 += tl[GEMMINI_LIB_CB])
        for (int orow0 = 0; orow0 < out_row_dim; orow0 += tl[GEMMINI_LIB_COROWS])
            for (int ocol0 = 0; ocol0 < out_col_dim; ocol0 += tl[GEMMINI_LIB_COCOLS])
                for (int och0 = 0; och0 < out_channels; och0 += tl[GEMMINI_LIB_COCHS], out_tiles++)
                    for (int krow0 = 0; krow0 < kernel_dim; krow0 += tl[GEMMINI_LIB_CKROWS])
                        for (int kcol0 = 0; kcol0 < kernel_dim; kcol0 += tl[GEMMINI_LIB_CKCOLS])
                            for (int kch0 = 0; kch0 < in_channels; kch0 += tl[GEMMINI_LIB_CKCHS]) {
                                const struct gemmini_lib_conv_tile t =
                                    gemmini_lib_conv_tile_at(&c, b0, orow0, ocol0, och0, krow0, kcol0, kch0);
                                if (tiled_conv_type == WS) {
                                    gemmini_lib_conv_tile_fsm(&c, &t);
                                    continue;
                                }
                                const long k_key = ((long)krow0 * kernel_dim + kcol0) * in_channels + kch0;
                                const long ik = (((long)b0 * out_row_dim + orow0) * out_col_dim + ocol0) *
                                                    ((long)kernel_dim * kernel_dim * in_channels) + k_key;
                                const long wk = (long)och0 * kernel_dim * kernel_dim * in_channels + k_key;
                                const bool load_in = ik != in_key, load_w = wk != w_key;
                                if (load_in) in_half ^= 1;
                                if (load_w) w_half ^= 1;
                                in_key = ik;
                                w_key = wk;
                                const size_t in_base = in_half * GEMMINI_LIB_SP_HALF;
                                const size_t w_base = (w_half + 1) * GEMMINI_LIB_SP_HALF - w_rows;
                                gemmini_lib_conv_loader_init(&loader, &c, &t, in_base, load_in, w_base, load_w);
                                if (have_prev)
                                    gemmini_lib_conv_tile_issue(&c, &prev, prev_in, prev_w, prev_c, &loader);
                                else
                                    while (gemmini_lib_conv_loader_step(&loader)) {
                                    }
                                prev = t;
                                prev_in = in_base;
                                prev_w = w_base;
                                prev_c = (out_tiles % 2) * GEMMINI_LIB_ACC_HALF;
                                have_prev = true;
                            }
    if (have_prev) {
        gemmini_lib_conv_loader_init(&loader, &c, &prev, 0, false, 0, false);
        gemmini_lib_conv_tile_issue(&c, &prev, prev_in, prev_w, prev_c, &loader);
    }
    gemmini_fence();
    return GEMMINI_LIB_OK;
}

/* tiled_conv_stride_auto: tiled_conv_auto with DRAM strides in elements (Gemmini's name and arguments);
   WS only (the LOOP_CONV_WS path of gemmini_lib_convx_run), or CPU. */
static inline int tiled_conv_stride_auto(int batch_size, int in_row_dim, int in_col_dim, int in_channels,
                                         int out_channels, int out_row_dim, int out_col_dim, int stride,
                                         int input_dilation, int kernel_dilation, int padding, int kernel_dim,
                                         int in_stride, int weight_stride, int out_stride, bool wrot180,
                                         bool trans_output_1203, bool trans_input_3120, bool trans_weight_1203,
                                         bool trans_weight_0132, const elem_t *input, const elem_t *weights,
                                         const acc_t *bias, elem_t *output, int act, acc_scale_t scale,
                                         int pool_size, int pool_stride, int pool_padding,
                                         enum tiled_matmul_type_t tiled_conv_type)
{
    const struct gemmini_lib_convx x = {batch_size, in_row_dim, in_col_dim, in_channels, out_channels,
                                        out_row_dim, out_col_dim, stride, input_dilation, kernel_dilation, padding,
                                        kernel_dim, in_stride, weight_stride, out_stride, wrot180,
                                        trans_output_1203, trans_input_3120, trans_weight_1203, trans_weight_0132,
                                        false, pool_size, pool_stride, pool_padding, input, weights, bias, output,
                                        act, scale};
    const int e = gemmini_lib_convx_check("tiled_conv_stride_auto", &x);
    if (e) return e;
    if (tiled_conv_type == CPU) {
        gemmini_lib_conv_ref(&x);
        return GEMMINI_LIB_OK;
    }
    if (tiled_conv_type != WS || (act != NO_ACTIVATION && act != RELU)) {
        printf("tiled_conv_stride_auto: only the WS and CPU types with NO_ACTIVATION or RELU are supported\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
    return gemmini_lib_convx_run("tiled_conv_stride_auto", &x);
}

/* tiled_conv_dw_auto: a depthwise convolution (MobileNet's; Gemmini's name and arguments): NHWC input and
   output of `channels` channels, weights [channel][krow][kcol], one LOOP_CONV_WS per channel and tile as
   Gemmini's tiled_conv_dw issues them (WS), or conv_dw_cpu (CPU). */
static inline int tiled_conv_dw_auto(int batch_size, int in_row_dim, int in_col_dim, int channels, int out_row_dim,
                                     int out_col_dim, int stride, int padding, int kernel_dim, elem_t *input,
                                     elem_t *weights, acc_t *bias, elem_t *output, int act, acc_scale_t scale,
                                     int pool_size, int pool_stride, int pool_padding,
                                     enum tiled_matmul_type_t tiled_conv_type)
{
    if (pool_size == 1 && pool_stride == 1 && pool_padding == 0) pool_stride = 0;
    const struct gemmini_lib_convx x = {batch_size, in_row_dim, in_col_dim, channels, channels, out_row_dim,
                                        out_col_dim, stride, 1, 1, padding, kernel_dim, channels, 1, channels, false,
                                        false, false, false, false, true, pool_size, pool_stride, pool_padding,
                                        input, weights, bias, output, act, scale};
    const int e = gemmini_lib_convx_check("tiled_conv_dw_auto", &x);
    if (e) return e;
    if (tiled_conv_type == CPU) {
        gemmini_lib_conv_ref(&x);
        return GEMMINI_LIB_OK;
    }
    if (tiled_conv_type != WS || (act != NO_ACTIVATION && act != RELU)) {
        printf("tiled_conv_dw_auto: only the WS and CPU types with NO_ACTIVATION or RELU are supported\n");
        return GEMMINI_LIB_UNSUPPORTED;
    }
    return gemmini_lib_convx_run("tiled_conv_dw_auto", &x);
}

/* tiled_conv_downsample: a 1x1, stride-2, unpadded convolution (ResNet's downsampling shortcut), computed
   as Gemmini's tiled_conv_downsample computes it: for every image and every other input row, one
   tiled_matmul_auto of out_col_dim output pixels (A = that input row with a row stride of 2 * in_stride, so
   every other pixel is taken) x out_channels (B = the weights) x in_channels, with the bias as a repeated D
   row, into one output row; the type (WS: a LOOP_WS per call; CPU: the CPU reference), activation and scale
   are passed through. Strides in elements. Square layers only, as on Gemmini. (Gemmini loops over the input
   rows and takes in_col_dim / 2 pixels, which is the output's size when in_dim = 2 * out_dim; here the loops
   run over the output's rows and columns, so an odd input or a cropped output is the convolution too, and
   no output row or column is written that the caller did not ask for.) */
static inline int tiled_conv_downsample(int batch_size, int in_row_dim, int in_col_dim, int in_channels,
                                        int out_channels, int out_row_dim, int out_col_dim, int in_stride,
                                        int weight_stride, int out_stride, const elem_t *input,
                                        const elem_t *weights, const acc_t *bias, elem_t *output, int act,
                                        acc_scale_t scale, enum tiled_matmul_type_t tiled_conv_type)
{
    if (in_row_dim != in_col_dim || out_row_dim != out_col_dim) {
        printf("tiled_conv_downsample: rectangular convolutions (input %dx%d, output %dx%d) are not supported, "
               "as on Gemmini; use tiled_conv_stride_auto with stride 2 and a 1x1 kernel\n",
               in_row_dim, in_col_dim, out_row_dim, out_col_dim);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    const struct gemmini_lib_convx x = {batch_size, in_row_dim, in_col_dim, in_channels, out_channels,
                                        out_row_dim, out_col_dim, 2, 1, 1, 0, 1, in_stride, weight_stride,
                                        out_stride, false, false, false, false, false, false, 0, 0, 0, input,
                                        weights, bias, output, act, scale};
    const int e = gemmini_lib_convx_check("tiled_conv_downsample", &x);
    if (e) return e;
    /* a stride shorter than its row would make pixels (or weight rows) overlap: swapped arguments */
    if (in_stride < in_channels || weight_stride < out_channels || out_stride < out_channels) {
        printf("tiled_conv_downsample: a stride is shorter than its row (in_stride %d for %d input channels, "
               "weight_stride %d and out_stride %d for %d output channels)\n",
               in_stride, in_channels, weight_stride, out_stride, out_channels);
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (act != NO_ACTIVATION && act != RELU) {
        printf("tiled_conv_downsample: activation %d is not supported (NO_ACTIVATION or RELU)\n", act);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    const size_t in_dim = (size_t)in_row_dim, out_dim = (size_t)out_row_dim;
    for (size_t b = 0; b < (size_t)batch_size; b++)
        for (size_t orow = 0; orow < out_dim; orow++) {
            const size_t irow = 2 * orow;
            const elem_t *A = input + (b * in_dim + irow) * in_dim * (size_t)in_stride;
            elem_t *C = output + (b * out_dim + orow) * out_dim * (size_t)out_stride;
            const int err = tiled_matmul_auto(out_dim, (size_t)out_channels, (size_t)in_channels, A, weights, bias,
                                              C, 2 * (size_t)in_stride, (size_t)weight_stride, (size_t)out_stride,
                                              (size_t)out_stride, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                                              MVIN_SCALE_IDENTITY, act, scale, 0, true, false, false, false, false,
                                              0, tiled_conv_type);
            if (err) {
                printf("tiled_conv_downsample: the matmul of image %lu, output row %lu was rejected (above)\n",
                       (unsigned long)b, (unsigned long)orow);
                return err;
            }
        }
    return GEMMINI_LIB_OK;
}

/* Global average pooling (Gemmini's global_average_cpu): output[b][ch] = the rounded mean of the dim x dim
   pixels of channel ch (NHWC input). */
static inline void global_average_cpu(const elem_t *input, elem_t *output, int batches, int channels, int dim)
{
    const int count = dim * dim;
    for (int b = 0; b < batches; b++)
        for (int ch = 0; ch < channels; ch++) {
            acc_t sum = 0;
            for (int p = 0; p < count; p++) sum += input[((size_t)b * count + p) * channels + ch];
            output[(size_t)b * channels + ch] = (elem_t)((sum + count / 2) / count);
        }
}

/* tiled_global_average_auto (Gemmini's name and arguments): on the accelerator, every pixel of an image is
   moved into one accumulator row per channel block (accumulating), then moved out scaled by 1/(dim*dim), as
   Gemmini's tiled_global_average does; CPU: global_average_cpu. */
static inline int tiled_global_average_auto(const elem_t *input, elem_t *output, int batches, int channels, int dim,
                                            enum tiled_matmul_type_t type)
{
    if (batches <= 0 || channels <= 0 || dim <= 0 || input == NULL || output == NULL) {
        printf("tiled_global_average_auto: dimensions must be positive and pointers non-NULL\n");
        return GEMMINI_LIB_BAD_ARGS;
    }
    if (type == CPU) {
        global_average_cpu(input, output, batches, channels, dim);
        return GEMMINI_LIB_OK;
    }
    const int blocks = (int)gemmini_lib_cdiv(channels, DIM);
    if ((size_t)blocks > GEMMINI_LIB_ACC_HALF) {
        printf("tiled_global_average_auto: %d channels need more than half the accumulator\n", channels);
        return GEMMINI_LIB_UNSUPPORTED;
    }
    gemmini_extended4_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, true, 1, 0);
    gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
    gemmini_extended_config_st(0, NO_ACTIVATION, (acc_scale_t)(1.0 / ((double)dim * dim)));
    const int mbl = MAX_BLOCK_LEN;
    for (int b = 0; b < batches; b++) {
        for (int p = 0; p < dim * dim; p++)
            for (int ch = 0; ch < channels; ch += mbl * DIM) {
                const uint32_t acc = gemmini_lib_acc(ch / DIM) | (p != 0 ? GEMMINI_ACCUMULATE_BIT : 0);
                gemmini_extended_mvin(input + ((size_t)b * dim * dim + p) * channels + ch, acc,
                                      gemmini_lib_imin(mbl * DIM, channels - ch), 1);
            }
        for (int ch = 0; ch < channels; ch += DIM)
            gemmini_extended_mvout(output + (size_t)b * channels + ch, gemmini_lib_acc(ch / DIM),
                                   gemmini_lib_imin(DIM, channels - ch), 1);
    }
    gemmini_fence();
    return GEMMINI_LIB_OK;
}

#endif /* ELEM_T_IS_FLOAT */

/* ---------------------------------------------------------------------------------------------------
 * (b) The short-form API of the Autocomp prompts
 *
 *   config_ex(dataflow, act, A_stride, A_transpose, B_transpose)   shift 0, acc_scale 1.0, C stride 1
 *   config_ld(dram_stride_bytes, scale, spad_block_stride, id)     id 0/1/2 configures mvin/mvin2/mvin3
 *   config_ld(dram_stride_bytes, scale, id)                        block stride DIM
 *   config_st(stride), config_st(stride, scale)                    no activation, acc_scale 1.0 or scale
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
/* config_ld and config_st by argument count, as Autocomp's programs and prompts use them:
   config_ld(dram_stride_bytes, scale, spad_block_stride, id) or config_ld(dram_stride_bytes, scale, id)
   (block stride DIM); config_st(stride) or config_st(stride, scale) (the scale multiplies values read out
   of the accumulator). Another count is a compile error naming the macro. */
#define GEMMINI_SHORT_PICK3_(a, b, c, pick, ...) pick
#define GEMMINI_SHORT_PICK4_(a, b, c, d, pick, ...) pick
#define config_ld(...)                                                                                  \
    GEMMINI_SHORT_PICK4_(__VA_ARGS__, gemmini_short_config_ld_4args_, gemmini_short_config_ld_3args_,  \
                         config_ld_takes_3_or_4_arguments, config_ld_takes_3_or_4_arguments)(__VA_ARGS__)
#define gemmini_short_config_ld_4args_(dram_stride_bytes, scale, spad_block_stride, id)                 \
    gemmini_extended4_config_ld(dram_stride_bytes, scale, false, spad_block_stride, id)
#define gemmini_short_config_ld_3args_(dram_stride_bytes, scale, id)                                    \
    gemmini_extended4_config_ld(dram_stride_bytes, scale, false, DIM, id)
#define config_st(...)                                                                                  \
    GEMMINI_SHORT_PICK3_(__VA_ARGS__, config_st_takes_1_or_2_arguments, gemmini_short_config_st_2args_, \
                         gemmini_short_config_st_1arg_, config_st_takes_1_or_2_arguments)(__VA_ARGS__)
#define gemmini_short_config_st_2args_(stride, scale) gemmini_extended_config_st(stride, NO_ACTIVATION, scale)
#define gemmini_short_config_st_1arg_(stride) gemmini_config_st(stride)
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
