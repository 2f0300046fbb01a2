// Honest control for any GEMM size (the tests prepend #defines of M, N, K): the tiled accelerator GEMM of
// ../gemm_tiled.c, which fences before returning.
#include "../gemm_tiled.c"
