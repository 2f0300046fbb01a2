/*
 * The harness context of Autocomp's admm-multifunction problems (TinyMPC kernels, fp32 on a 4x4 array), as a
 * candidate's solution body sees it in Autocomp's test programs; written for gemforge from the facts of those
 * harnesses and of Autocomp's ISA prompt for the problems (src/bench/workload/autocomp.rs, docs/autocomp.md).
 * gemmini.h, stdint.h and stdbool.h are force-included before this text, and the problem's macros
 * (NHORIZON, MAT_DIM_*, OUTPUT_MATRIX_NAME, ...) are defined just above it.
 *
 * It provides:
 *  - the headers the harnesses include (stdio, stdlib, stddef, assert, string) and their ACTIVATION macro;
 *  - row_align / row_align_acc (Gemmini's test utilities: align a static array to whole scratchpad or
 *    accumulator rows);
 *  - (the short-form API with the argument counts Autocomp's programs use, config_st(stride[, scale]) and
 *    config_ld(stride, scale[, spad_block_stride], id), is gemmini.h's own);
 *  - the helper functions of the harnesses, with their names and semantics: full_matscale and
 *    full_is_equal in every problem; negate_matrix, add_matrix and is_equal_matrix in problems 1 and 2
 *    (their harnesses define them; problem 0's does not). The harnesses' printing helpers are not provided:
 *    a candidate cannot print (it runs in U-mode with no I/O; printing is not part of a measured call).
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#ifndef ELEM_T_IS_FLOAT
#error "Autocomp's admm-multifunction problems are fp32: use an fp32 configuration such as rtl/configs/fp32_4x4.toml"
#endif

#define ACTIVATION NO_ACTIVATION

#ifndef row_align
#define row_align(blocks) __attribute__((aligned((blocks) * DIM * sizeof(elem_t))))
#endif
#ifndef row_align_acc
#define row_align_acc(blocks) __attribute__((aligned((blocks) * DIM * sizeof(acc_t))))
#endif

/* out = the accumulator read-out of full (scaled by scale; fp32: no saturation), MAT_DIM_I x MAT_DIM_J. */
__attribute__((unused)) static void full_matscale(full_t full[MAT_DIM_I][MAT_DIM_J], elem_t out[MAT_DIM_I][MAT_DIM_J],
                                                  acc_scale_t scale) {
    for (size_t r = 0; r < MAT_DIM_I; r++)
        for (size_t c = 0; c < MAT_DIM_J; c++)
            out[r][c] = (elem_t)ACC_SCALE(full[r][c], scale);
}

#ifdef NHORIZON
/* 1 if the two OUTPUT_DIM_1 x OUTPUT_DIM_2 x OUTPUT_DIM_3 arrays are equal element by element, else 0. */
__attribute__((unused)) static int full_is_equal(elem_t x[OUTPUT_DIM_1][OUTPUT_DIM_2][OUTPUT_DIM_3],
                                                 elem_t y[OUTPUT_DIM_1][OUTPUT_DIM_2][OUTPUT_DIM_3]) {
    for (size_t i = 0; i < OUTPUT_DIM_1; i++)
        for (size_t j = 0; j < OUTPUT_DIM_2; j++)
            for (size_t k = 0; k < OUTPUT_DIM_3; k++)
                if (x[i][j][k] != y[i][j][k]) return 0;
    return 1;
}

/* 1 if the rows x cols row-major matrices at x and y are equal, else 0. */
__attribute__((unused)) static int is_equal_matrix(elem_t *x, elem_t *y, int rows, int cols) {
    for (int i = 0; i < rows * cols; i++)
        if (x[i] != y[i]) return 0;
    return 1;
}

/* out = -in, rows x cols row-major. */
__attribute__((unused)) static void negate_matrix(elem_t *in, elem_t *out, int rows, int cols) {
    for (int i = 0; i < rows * cols; i++) out[i] = -in[i];
}

/* out = A + B, rows x cols row-major. */
__attribute__((unused)) static void add_matrix(elem_t *A, elem_t *B, elem_t *out, int rows, int cols) {
    for (int i = 0; i < rows * cols; i++) out[i] = A[i] + B[i];
}
#else
/* 1 if the two MAT_DIM_I x MAT_DIM_J matrices are equal element by element, else 0. */
__attribute__((unused)) static int full_is_equal(elem_t x[MAT_DIM_I][MAT_DIM_J], elem_t y[MAT_DIM_I][MAT_DIM_J]) {
    for (size_t i = 0; i < MAT_DIM_I; i++)
        for (size_t j = 0; j < MAT_DIM_J; j++)
            if (x[i][j] != y[i][j]) return 0;
    return 1;
}
#endif
