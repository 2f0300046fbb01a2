/*
 * The HTIF test program's checks, each printed as one line: hard-float single and double arithmetic
 * (with rounding modes), atomics (AMOs and LR/SC through the compiler's builtins), a misaligned load and
 * compressed code (the whole program is built with -march=rv64gc). main returns the number of failed
 * checks, which becomes the exit code; EXPECT_EXIT (a -D define) adds to it, to test exit codes.
 */
#include <stdint.h>

int printf(const char *fmt, ...);

#ifndef EXPECT_EXIT
#define EXPECT_EXIT 0
#endif

static int failures;

static void check(const char *what, long got, long want)
{
    printf("%s: %ld %s\n", what, got, got == want ? "ok" : "FAILED");
    if (got != want)
        failures++;
}

/* Kept out of line and volatile so the compiler emits the FP instructions instead of folding. */
static volatile double dv[4] = {1.0, 3.0, 2.0, 0.5};
static volatile float fv[4] = {1.5f, -2.25f, 1e-3f, 3.0f};
static volatile int counter;
static volatile long counter64;
static volatile unsigned char bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

int main(void)
{
    /* Basel sum in double: sum 1/k^2 for k = 1..2000 ~ pi^2/6 = 1.6449..., times 1e6 truncated. */
    double s = 0.0;
    for (int k = 1; k <= 2000; k++)
        s += dv[0] / ((double)k * (double)k);
    check("basel*1e6", (long)(s * 1e6), 1644434);

    /* Single precision: fused multiply-add and square root. */
    float f = fv[0] * fv[1] + fv[3];
    check("fma*1000", (long)(f * 1000.0f), -375);
    check("sqrt2*1e6", (long)(__builtin_sqrtf(dv[2]) * 1e6f), 1414213);
    check("div*1e6", (long)(dv[0] / dv[1] * 1e6), 333333);

    /* float -> int conversion rounds toward zero in C; frm RUP changes rounded arithmetic. */
    check("cvt", (long)(fv[1]), -2);
    float up, down, x = fv[3], y = 7.0f;
    /* Dynamic rounding (frm = RUP) in one asm block, so the compiler cannot move the division. */
    __asm__ volatile("fsrmi 3\n\tfdiv.s %0, %1, %2\n\tfsrmi 0" : "=f"(up) : "f"(x), "f"(y));
    __asm__ volatile("fdiv.s %0, %1, %2, rdn" : "=f"(down) : "f"(x), "f"(y));
    union { float f; uint32_t u; } a = {up}, b = {down};
    check("rup-rdn ulps", (long)(a.u - b.u), 1);
    unsigned flags;
    __asm__ volatile("frflags %0" : "=r"(flags));
    check("NX raised", flags & 1, 1);

    /* Atomics. */
    for (int i = 0; i < 10; i++)
        __atomic_fetch_add(&counter, 3, __ATOMIC_SEQ_CST);
    check("amoadd", counter, 30);
    int expected = 30;
    int swapped = __atomic_compare_exchange_n(&counter, &expected, 7, 0, __ATOMIC_SEQ_CST,
                                              __ATOMIC_SEQ_CST);
    check("cas", swapped * 100 + counter, 107);
    check("fetch_or old", __atomic_fetch_or(&counter64, 0x100, __ATOMIC_SEQ_CST), 0);
    check("amoor", counter64, 0x100);

    /* A misaligned doubleword load. */
    uint64_t v;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(&bytes[3]));
    check("misaligned", (long)(v & 0xffff), 0x0504);

    printf("%d failures\n", failures);
    return failures + EXPECT_EXIT;
}
