/* gemforge's gemmini_nn.h: the neural-network layer helpers of Gemmini's include/gemmini_nn.h, with Gemmini's
 * names and arguments, over this runtime's gemmini.h, so that programs written for Gemmini's (its MLPs, its
 * ImageNet networks) compile against either header:
 *   struct ConvParams, struct FcParams   layer parameters as Gemmini's network programs fill them
 *   tiled_matmul_nn(...)                 C = act(A*B + D) * scale with explicit tiles
 *   tiled_matmul_nn_auto(...)            the same with the library's tiling heuristic
 *   tiled_matmul_nn_stride_auto(...)     the same with row strides in elements
 * The `check` argument also runs the CPU reference and compares the results, printing the first mismatch. */
#ifndef GEMFORGE_GEMMINI_NN_H
#define GEMFORGE_GEMMINI_NN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gemmini.h"

struct ConvParams {
    int batch_size;
    int in_row_dim;
    int in_col_dim;
    int out_row_dim;
    int out_col_dim;
    int kernel_size;
    int in_channels;
    int out_channels;
    int in_stride;
    int weight_stride;
    int out_stride;
    int stride;
    int padding;
    bool bias;
    bool depthwise;
    int n_patches;
    int patch_size;
    acc_scale_t output_scale;
    scale_t res_scale;
    int pool_size, pool_stride, pool_padding, out_dim_pooled;

    int I, J, K;
};

struct FcParams {
    int batch_size;
    int in_features;
    int out_features;
    acc_scale_t output_scale;
    bool bias;

    int I, J, K;
};

/* With `check`: the CPU result of the same product, compared with C; prints the layer and the first
   mismatch. Returns non-zero on a mismatch (or when no memory is left for the reference). */
static inline int gemmini_nn_check(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t *A, const elem_t *B,
                                   const void *D, const elem_t *C, size_t stride_A, size_t stride_B,
                                   size_t stride_C, int act, acc_scale_t scale, bool repeating_bias,
                                   const char *layer_name)
{
    elem_t *gold = (elem_t *)malloc(dim_I * dim_J * sizeof(elem_t));
    if (gold == NULL) {
        printf("%s: no memory for the CPU reference\n", layer_name);
        return 1;
    }
    tiled_matmul_auto(dim_I, dim_J, dim_K, A, B, D, gold, stride_A, stride_B, stride_C, dim_J,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0,
                      repeating_bias, false, false, false, false, 0, CPU);
    int bad = 0;
    for (size_t i = 0; i < dim_I && !bad; i++)
        for (size_t j = 0; j < dim_J; j++)
            if (gold[i * dim_J + j] != C[i * stride_C + j]) {
                printf("%s: mismatch at (%lu, %lu): gemmini %d, CPU %d\n", layer_name, (unsigned long)i,
                       (unsigned long)j, (int)C[i * stride_C + j], (int)gold[i * dim_J + j]);
                bad = 1;
                break;
            }
    free(gold);
    return bad;
}

static inline int tiled_matmul_nn(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t A[dim_I][dim_K],
                                  const elem_t B[dim_K][dim_J], const void *D, elem_t C[dim_I][dim_J], int act,
                                  acc_scale_t scale, bool repeating_bias, size_t tile_I, size_t tile_J,
                                  size_t tile_K, enum tiled_matmul_type_t tiled_matmul_type, bool check,
                                  char *layer_name)
{
    if (check) printf("%s: gemmini\n", layer_name);
    int err = tiled_matmul(dim_I, dim_J, dim_K, (const elem_t *)A, (const elem_t *)B, D, (elem_t *)C, dim_K, dim_J,
                           dim_J, dim_J, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0,
                           repeating_bias, tile_I, tile_J, tile_K, false, false, false, false, 0, tiled_matmul_type);
    if (err == 0 && check)
        err = gemmini_nn_check(dim_I, dim_J, dim_K, (const elem_t *)A, (const elem_t *)B, D, (const elem_t *)C,
                               dim_K, dim_J, dim_J, act, scale, repeating_bias, layer_name);
    return err;
}

static inline int tiled_matmul_nn_auto(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t A[dim_I][dim_K],
                                       const elem_t B[dim_K][dim_J], const void *D, elem_t C[dim_I][dim_J],
                                       int act, acc_scale_t scale, bool repeating_bias,
                                       enum tiled_matmul_type_t tiled_matmul_type, bool check, char *layer_name)
{
    if (check) printf("%s: gemmini\n", layer_name);
    int err = tiled_matmul_auto(dim_I, dim_J, dim_K, (const elem_t *)A, (const elem_t *)B, D, (elem_t *)C, dim_K,
                                dim_J, dim_J, dim_J, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                                act, scale, 0, repeating_bias, false, false, false, false, 0, tiled_matmul_type);
    if (err == 0 && check)
        err = gemmini_nn_check(dim_I, dim_J, dim_K, (const elem_t *)A, (const elem_t *)B, D, (const elem_t *)C,
                               dim_K, dim_J, dim_J, act, scale, repeating_bias, layer_name);
    return err;
}

static inline int tiled_matmul_nn_stride_auto(size_t dim_I, size_t dim_J, size_t dim_K, size_t A_stride,
                                              size_t B_stride, size_t C_stride, const elem_t *A, const elem_t *B,
                                              const void *D, const elem_t *C, int act, acc_scale_t scale,
                                              bool repeating_bias, enum tiled_matmul_type_t tiled_matmul_type)
{
    return tiled_matmul_auto(dim_I, dim_J, dim_K, A, B, D, (elem_t *)C, A_stride, B_stride, C_stride, C_stride,
                             MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0,
                             repeating_bias, false, false, false, false, 0, tiled_matmul_type);
}

#endif /* GEMFORGE_GEMMINI_NN_H */
