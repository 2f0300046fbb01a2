// ResNet-50 (v1.5) inference on the accelerator, every layer in the order Gemmini's imagenet/resnet50.c runs
// them: the 7x7 stride-2 stem with its 3x3 stride-2 max-pool fused into one tiled_conv_auto call; sixteen
// bottleneck blocks (1x1 convolutions as tiled_matmul_nn_auto, 3x3 convolutions as tiled_conv_auto with
// stride 2 in the first block of stages 3-5, the projection shortcut as tiled_matmul_nn_auto in stage 2
// and tiled_conv_downsample (1x1, stride 2) after, the residual add with ReLU as tiled_resadd_auto); the
// global average pool (tiled_global_average_auto) and the 2048 -> 1000 classifier. All on the loop FSMs (WS).
//
// Weights, biases and images are synthetic, from a seeded generator (ResNet-50's 25.5 M weights are not
// shipped); the output scales keep activations spread over the int8 range. Only the accelerator calls are
// timed: the program prints each layer's cycles and the total, then the predictions and a checksum of the
// logits. Self-check: after each layer, RESNET_CHECK output elements at seeded positions (0: every element)
// are recomputed on the hart from the layer's actual input, with the accelerator's arithmetic (int32 sums,
// read-out rne(f32(relu(x)) * scale) clipped to int8, max-pooling with zeros outside the output), and the
// program exits 1 on any mismatch or library error.
//
//   gemforge run examples/resnet50.c                       the whole network, batch 4, 224x224
//   gemforge run examples/resnet50.c -D RESNET_IMG=32 -D RESNET_BATCH=1 -D RESNET_WIDTH_DIV=4 -D RESNET_CHECK=0
//                                                          a reduced network (same layers), every element checked
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gemmini.h"
#include "gemmini_nn.h"

#ifndef RESNET_BATCH
#define RESNET_BATCH 4
#endif
#ifndef RESNET_IMG /* input rows = columns; a multiple of 32 (five stride-2 steps) */
#define RESNET_IMG 224
#endif
#ifndef RESNET_WIDTH_DIV /* every channel count divided by this (1: ResNet-50's widths) */
#define RESNET_WIDTH_DIV 1
#endif
#ifndef RESNET_CLASSES
#define RESNET_CLASSES 1000
#endif
#ifndef RESNET_CHECK /* output elements checked per layer; 0 checks every element */
#define RESNET_CHECK 64
#endif
#ifndef RESNET_SEED
#define RESNET_SEED 1
#endif
/* RESNET_FAULT=N flips one output element of the N-th checked layer after the accelerator wrote it, so a
   test can see the self-check fail (0: no fault). */
#ifndef RESNET_FAULT
#define RESNET_FAULT 0
#endif

#if RESNET_IMG % 32 != 0 || RESNET_IMG < 32
#error "RESNET_IMG must be a positive multiple of 32"
#endif
#if RESNET_BATCH < 1 || RESNET_WIDTH_DIV < 1 || 64 % RESNET_WIDTH_DIV != 0 || RESNET_CLASSES < 1
#error "RESNET_BATCH, RESNET_CLASSES must be positive and RESNET_WIDTH_DIV must divide 64"
#endif

#define B RESNET_BATCH
#define W(c) ((c) / RESNET_WIDTH_DIV)

/* ---- seeded synthetic data -------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64*: fast on the hart, plenty for synthetic weights */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static void rng_seed(uint64_t s)
{
    rng_state = s * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (rng_state == 0) rng_state = 1;
    for (int i = 0; i < 4; i++) rng_next();
}

/* n int8 values uniform over [-64, 63]: eight bytes per draw, each shifted right arithmetically by one. */
static void fill_half_range(elem_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t x = rng_next();
        const uint64_t y = ((x >> 1) & 0x7F7F7F7F7F7F7F7FULL) | (x & 0x8080808080808080ULL);
        memcpy(dst + i, &y, 8);
    }
    for (; i < n; i++) dst[i] = (elem_t)((int8_t)rng_next() >> 1);
}

/* ---- layers --------------------------------------------------------------------------------------- */

enum op { OP_CONV, OP_MATMUL, OP_DOWNSAMPLE };

struct layer {
    char name[24];
    enum op op;
    int in_dim, in_ch, out_ch, kernel, stride, padding, out_dim;
    int relu;
    int pool_size, pool_stride, pool_padding, final_dim; /* pool_stride 0: no pooling */
    acc_scale_t scale;
    elem_t *w;   /* [kernel][kernel][in_ch][out_ch] */
    acc_t *bias; /* [out_ch] */
};

static int failures;
static uint64_t checked_elems;
static int layer_count;

/* 64-byte aligned memory from the heap (the size rounded up to a multiple of 64); exits 2 when none is left. */
static void *xalloc(size_t n, const char *what)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (p == NULL) {
        printf("out of memory for %s (%lu bytes)\n", what, (unsigned long)n);
        exit(2);
    }
    return p;
}

static size_t isqrt(size_t x)
{
    size_t r = 0;
    while ((r + 1) * (r + 1) <= x) r++;
    return r;
}

static struct layer make_layer(const char *name, int in_dim, int in_ch, int out_ch, int kernel, int stride,
                               int padding, int relu)
{
    struct layer l;
    memset(&l, 0, sizeof l);
    snprintf(l.name, sizeof l.name, "%s", name);
    l.in_dim = in_dim;
    l.in_ch = in_ch;
    l.out_ch = out_ch;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.out_dim = (in_dim + 2 * padding - kernel) / stride + 1;
    l.relu = relu;
    l.pool_size = 1;
    l.final_dim = l.out_dim;
    l.op = kernel == 1 && stride == 1 ? OP_MATMUL : kernel == 1 && stride == 2 && padding == 0 ? OP_DOWNSAMPLE : OP_CONV;
    /* Weights uniform over [-64, 63] (standard deviation 37); inputs of about 40 RMS give sums of about
       1480 * sqrt(fan_in), brought back to about 40. */
    const size_t fan_in = (size_t)kernel * kernel * in_ch;
    l.scale = (acc_scale_t)1.0f / (acc_scale_t)(37 * isqrt(fan_in));
    const size_t wn = fan_in * out_ch;
    l.w = (elem_t *)xalloc(wn, "weights");
    l.bias = (acc_t *)xalloc((size_t)out_ch * sizeof(acc_t), "a bias");
    fill_half_range(l.w, wn);
    for (int o = 0; o < out_ch; o++) l.bias[o] = (acc_t)(rng_next() % 2048) - 1024;
    return l;
}

/* ---- the accelerator's arithmetic on the hart (docs/accelerator.md section 2) ------------------------ */

/* Round to nearest, ties to even (|f| < 2^62). */
static int64_t rne(float f)
{
    const double d = f;
    int64_t i = (int64_t)d;
    const double frac = d - (double)i;
    if (frac > 0.5 || (frac == 0.5 && (i & 1))) i++;
    else if (frac < -0.5 || (frac == -0.5 && (i & 1))) i--;
    return i;
}

/* Accumulator read-out: rne(f32(relu?(x)) * scale), clipped to int8. */
static elem_t readout(int32_t x, int relu, acc_scale_t scale)
{
    if (relu && x < 0) x = 0;
    const int64_t v = rne((float)x * scale);
    return (elem_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

/* The convolution's int8 output at (b, y, x, o), before pooling. */
static elem_t ref_conv(const struct layer *l, const elem_t *in, int b, int y, int x, int o)
{
    uint32_t acc = (uint32_t)l->bias[o]; /* wrapping int32, as the accumulator */
    for (int r = 0; r < l->kernel; r++) {
        const int iy = y * l->stride + r - l->padding;
        if (iy < 0 || iy >= l->in_dim) continue;
        for (int s = 0; s < l->kernel; s++) {
            const int ix = x * l->stride + s - l->padding;
            if (ix < 0 || ix >= l->in_dim) continue;
            const elem_t *px = in + (((size_t)b * l->in_dim + iy) * l->in_dim + ix) * l->in_ch;
            const elem_t *wc = l->w + ((size_t)(r * l->kernel + s) * l->in_ch) * l->out_ch + o;
            for (int c = 0; c < l->in_ch; c++) acc += (uint32_t)((int32_t)px[c] * wc[(size_t)c * l->out_ch]);
        }
    }
    return readout((int32_t)acc, l->relu, l->scale);
}

/* The stored output at (b, y, x, o): the convolution's, or the max over the pooling window with zero for a
   position outside the convolution's output (the store unit's pooling). */
static elem_t ref_out(const struct layer *l, const elem_t *in, int b, int y, int x, int o)
{
    if (l->pool_stride == 0) return ref_conv(l, in, b, y, x, o);
    elem_t m = -128;
    for (int wr = 0; wr < l->pool_size; wr++)
        for (int wc = 0; wc < l->pool_size; wc++) {
            const int oy = y * l->pool_stride + wr - l->pool_padding;
            const int ox = x * l->pool_stride + wc - l->pool_padding;
            const elem_t v = oy < 0 || ox < 0 || oy >= l->out_dim || ox >= l->out_dim ? 0
                                                                                        : ref_conv(l, in, b, oy, ox, o);
            if (v > m) m = v;
        }
    return m;
}

/* The i-th checked position of a layer's n outputs: all of them in order, or seeded positions. */
static size_t check_count(size_t n) { return RESNET_CHECK == 0 || (size_t)RESNET_CHECK > n ? n : RESNET_CHECK; }
static size_t check_index(size_t i, size_t n)
{
    if (RESNET_CHECK == 0 || (size_t)RESNET_CHECK >= n) return i;
    uint64_t h = (uint64_t)(layer_count + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)i * 0xD1B54A32D192ED03ULL;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    return (size_t)(h % n);
}

static void report_mismatch(const char *name, size_t at, int got, int want)
{
    if (failures < 10) printf("MISMATCH in %s at element %lu: accelerator %d, reference %d\n", name, (unsigned long)at, got, want);
    failures++;
}

static void check_layer(const struct layer *l, const elem_t *in, elem_t *out)
{
    const int f = l->final_dim;
    const size_t n = (size_t)B * f * f * l->out_ch;
    if (RESNET_FAULT == layer_count + 1) out[check_index(0, n)] ^= 1;
    for (size_t i = 0; i < check_count(n); i++) {
        const size_t at = check_index(i, n);
        const int o = (int)(at % l->out_ch);
        const size_t px = at / l->out_ch;
        const int x = (int)(px % f), y = (int)(px / f % f), b = (int)(px / f / f);
        const elem_t want = ref_out(l, in, b, y, x, o);
        if (out[at] != want) report_mismatch(l->name, at, out[at], want);
    }
    checked_elems += check_count(n);
    layer_count++;
}

/* ---- running and timing ------------------------------------------------------------------------------ */

static uint64_t total_cycles, conv_cycles, matmul_cycles, resadd_cycles, other_cycles;

static void library_failed(const char *name, int err)
{
    printf("%s: the library refused the call (error %d)\nFAIL\n", name, err);
    exit(1);
}

static void run_layer(const struct layer *l, const elem_t *in, elem_t *out)
{
    int err;
    const uint64_t start = read_cycles();
    if (l->op == OP_MATMUL) {
        const size_t I = (size_t)B * l->in_dim * l->in_dim;
        err = tiled_matmul_nn_auto(I, l->out_ch, l->in_ch, (const elem_t(*)[l->in_ch])in,
                                   (const elem_t(*)[l->out_ch])l->w, l->bias, (elem_t(*)[l->out_ch])out,
                                   l->relu ? RELU : NO_ACTIVATION, l->scale, true, WS, false, (char *)l->name);
    } else if (l->op == OP_DOWNSAMPLE) {
        err = tiled_conv_downsample(B, l->in_dim, l->in_dim, l->in_ch, l->out_ch, l->out_dim, l->out_dim, l->in_ch,
                                    l->out_ch, l->out_ch, in, l->w, l->bias, out, l->relu ? RELU : NO_ACTIVATION,
                                    l->scale, WS);
    } else {
        err = tiled_conv_auto(B, l->in_dim, l->in_dim, l->in_ch, l->out_ch, l->out_dim, l->out_dim, l->stride, 1, 1,
                              l->padding, l->kernel, false, false, false, false, false, in, l->w, l->bias, out,
                              l->relu ? RELU : NO_ACTIVATION, l->scale, l->pool_size, l->pool_stride,
                              l->pool_padding, WS);
    }
    gemmini_fence();
    const uint64_t cycles = read_cycles() - start;
    if (err) library_failed(l->name, err);
    total_cycles += cycles;
    if (l->op == OP_MATMUL) matmul_cycles += cycles;
    else conv_cycles += cycles;
    printf("%-16s %-9s %4dx%-4d %4d -> %4d  %10llu cycles\n", l->name,
           l->op == OP_MATMUL ? "matmul" : l->op == OP_DOWNSAMPLE ? "downsamp" : "conv", l->final_dim, l->final_dim,
           l->in_ch, l->out_ch, (unsigned long long)cycles);
    check_layer(l, in, out);
}

/* out = relu(shortcut + out), in place, on the accelerator; checked against the saved pre-add values. */
static void residual_add(const char *name, size_t rows, int ch, const elem_t *shortcut, elem_t *out, elem_t *save)
{
    const size_t n = rows * ch;
    for (size_t i = 0; i < check_count(n); i++) save[i] = out[check_index(i, n)];
    const uint64_t start = read_cycles();
    const int err = tiled_resadd_auto(rows, ch, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, ACC_SCALE_IDENTITY, shortcut,
                                      out, out, true, WS);
    gemmini_fence();
    const uint64_t cycles = read_cycles() - start;
    if (err) library_failed(name, err);
    total_cycles += cycles;
    resadd_cycles += cycles;
    printf("%-16s %-9s %9lu x %-4d            %10llu cycles\n", name, "resadd", (unsigned long)rows, ch,
           (unsigned long long)cycles);
    for (size_t i = 0; i < check_count(n); i++) {
        const size_t at = check_index(i, n);
        const elem_t want = readout((int32_t)shortcut[at] + (int32_t)save[i], 1, ACC_SCALE_IDENTITY);
        if (out[at] != want) report_mismatch(name, at, out[at], want);
    }
    checked_elems += check_count(n);
    layer_count++;
}

/* ---- the network ------------------------------------------------------------------------------------ */

#define MAX_ACT ((size_t)B * (RESNET_IMG / 4) * (RESNET_IMG / 4) * W(256))

static elem_t *act_alloc(void) { return (elem_t *)xalloc(MAX_ACT, "an activation buffer"); }

int main(void)
{
    gemmini_flush(0);
    rng_seed(RESNET_SEED);
    const int img = RESNET_IMG;
    printf("ResNet-50 v1.5: batch %d, %dx%d images, widths / %d, %d classes, %s check\n", B, img, img,
           RESNET_WIDTH_DIV, RESNET_CLASSES, RESNET_CHECK == 0 ? "full" : "sampled");

    /* Weights of every layer first (untimed, as resnet50.c's are compiled in). */
    struct layer stem = make_layer("conv_1", img, 3, W(64), 7, 2, 3, 1);
    stem.pool_size = 3;
    stem.pool_stride = 2;
    stem.pool_padding = 1;
    stem.final_dim = (stem.out_dim + 2 - 3) / 2 + 1;

    static const int blocks[4] = {3, 4, 6, 3};
    struct block {
        struct layer a, b, c, down;
        int has_down;
    } net[16];
    int nb = 0, conv_no = 2, dim = stem.final_dim, ch = W(64);
    for (int stage = 0; stage < 4; stage++) {
        const int width = W(64 << stage), out = W(256 << stage);
        for (int i = 0; i < blocks[stage]; i++) {
            const int stride = stage > 0 && i == 0 ? 2 : 1;
            struct block *bl = &net[nb++];
            char name[24];
            snprintf(name, sizeof name, "conv_%d", conv_no++);
            bl->a = make_layer(name, dim, ch, width, 1, 1, 0, 1);
            snprintf(name, sizeof name, "conv_%d", conv_no++);
            bl->b = make_layer(name, dim, width, width, 3, stride, 1, 1);
            snprintf(name, sizeof name, "conv_%d", conv_no++);
            bl->c = make_layer(name, bl->b.out_dim, width, out, 1, 1, 0, 0);
            bl->has_down = i == 0;
            if (bl->has_down) {
                snprintf(name, sizeof name, "conv_%d", conv_no++);
                bl->down = make_layer(name, dim, ch, out, 1, stride, 0, 0);
            }
            dim = bl->b.out_dim;
            ch = out;
        }
    }
    /* The classifier: a 1x1 "convolution" of the pooled 1x1 image. */
    struct layer fc = make_layer("fc_54", 1, ch, RESNET_CLASSES, 1, 1, 0, 0);

    elem_t *images = (elem_t *)xalloc((size_t)B * img * img * 3, "the images");
    elem_t *x = act_alloc(), *t1 = act_alloc(), *t2 = act_alloc(), *y = act_alloc(), *d = act_alloc();
    elem_t *save = act_alloc();
    elem_t *avg = (elem_t *)xalloc((size_t)B * ch, "the pooled features");
    elem_t *logits = (elem_t *)xalloc((size_t)B * RESNET_CLASSES, "the logits");
    /* Images: full-range int8 pixels. */
    for (size_t i = 0; i < (size_t)B * img * img * 3; i++) images[i] = (elem_t)rng_next();

    printf("%-16s %-9s %9s %14s %17s\n", "layer", "kind", "out", "channels", "cycles");
    run_layer(&stem, images, x);
    for (int i = 0; i < nb; i++) {
        struct block *bl = &net[i];
        run_layer(&bl->a, x, t1);
        run_layer(&bl->b, t1, t2);
        run_layer(&bl->c, t2, y);
        const elem_t *shortcut = x;
        if (bl->has_down) {
            run_layer(&bl->down, x, d);
            shortcut = d;
        }
        char name[24];
        snprintf(name, sizeof name, "resadd_%d", i + 1);
        residual_add(name, (size_t)B * bl->c.out_dim * bl->c.out_dim, bl->c.out_ch, shortcut, y, save);
        elem_t *tmp = x;
        x = y;
        y = tmp;
    }

    /* Global average pool: rne(f32(sum of the dim x dim pixels) * f32(1 / dim^2)). */
    {
        const uint64_t start = read_cycles();
        const int err = tiled_global_average_auto(x, avg, B, ch, dim, WS);
        gemmini_fence();
        const uint64_t cycles = read_cycles() - start;
        if (err) library_failed("global_average", err);
        total_cycles += cycles;
        other_cycles += cycles;
        printf("%-16s %-9s %4dx%-4d %4d -> %4d  %10llu cycles\n", "avg_pool", "avgpool", 1, 1, ch, ch,
               (unsigned long long)cycles);
        const acc_scale_t s = (acc_scale_t)(1.0 / ((double)dim * dim));
        for (int b = 0; b < B; b++)
            for (int c = 0; c < ch; c++) {
                uint32_t sum = 0;
                for (int p = 0; p < dim * dim; p++) sum += (uint32_t)(int32_t)x[((size_t)b * dim * dim + p) * ch + c];
                const elem_t want = readout((int32_t)sum, 0, s);
                if (avg[(size_t)b * ch + c] != want) report_mismatch("avg_pool", (size_t)b * ch + c, avg[(size_t)b * ch + c], want);
            }
        checked_elems += (uint64_t)B * ch;
    }
    run_layer(&fc, avg, logits);

    /* Predictions (argmax) and a checksum (FNV-1a) of the logits. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < (size_t)B * RESNET_CLASSES; i++) h = (h ^ (uint8_t)logits[i]) * 0x100000001b3ULL;
    for (int b = 0; b < B; b++) {
        int best = 0;
        for (int j = 1; j < RESNET_CLASSES; j++)
            if (logits[(size_t)b * RESNET_CLASSES + j] > logits[(size_t)b * RESNET_CLASSES + best]) best = j;
        printf("image %d: class %d (score %d)\n", b, best, logits[(size_t)b * RESNET_CLASSES + best]);
    }
    printf("logits checksum 0x%016llx\n", (unsigned long long)h);
    printf("\nTotal cycles: %llu\n", (unsigned long long)total_cycles);
    printf("  conv (tiled_conv_auto, tiled_conv_downsample) %llu\n", (unsigned long long)conv_cycles);
    printf("  matmul (tiled_matmul_nn_auto)                  %llu\n", (unsigned long long)matmul_cycles);
    printf("  residual adds (tiled_resadd_auto)              %llu\n", (unsigned long long)resadd_cycles);
    printf("  global average pool                            %llu\n", (unsigned long long)other_cycles);
    printf("self-check: %llu output elements of %d layers recomputed on the hart, %d mismatches\n",
           (unsigned long long)checked_elems, layer_count + 1, failures);
    if (failures) {
        printf("FAIL\n");
        return 1;
    }
    printf("PASS\n");
    return 0;
}
