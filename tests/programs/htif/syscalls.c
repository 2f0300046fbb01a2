/*
 * Host services of the HTIF test program, through the front-end server's syscall proxy as Spike and
 * Chipyard's bare-metal environment provide it: the program stores the address of an 8-doubleword block
 * [syscall number, arg0, arg1, arg2, ...] in `tohost`, waits for `fromhost` to become nonzero, clears it
 * and reads the result from block[0]. Exit is `tohost = (code << 1) | 1`. A small printf on top of
 * write(1, ...), enough for the test's main.c.
 */
#include <stdarg.h>
#include <stdint.h>

#define SYS_WRITE 64

volatile uint64_t tohost __attribute__((section(".tohost"), aligned(64)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(64)));

static long host_call(long which, long a0, long a1, long a2)
{
    volatile uint64_t block[8] __attribute__((aligned(64)));
    block[0] = which;
    block[1] = a0;
    block[2] = a1;
    block[3] = a2;
    __sync_synchronize();
    tohost = (uintptr_t)block;
    while (fromhost == 0)
        ;
    fromhost = 0;
    __sync_synchronize();
    return block[0];
}

void __attribute__((noreturn)) exit(int code)
{
    tohost = ((uint64_t)code << 1) | 1;
    for (;;)
        ;
}

/* Output is collected in a line buffer and written one line per call. */
static char line[128];
static int line_len;

static void flush_line(void)
{
    if (line_len > 0)
        host_call(SYS_WRITE, 1, (long)line, line_len);
    line_len = 0;
}

static void put(char c)
{
    line[line_len++] = c;
    if (c == '\n' || line_len == (int)sizeof line)
        flush_line();
}

static void put_unsigned(unsigned long v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        unsigned d = v % base;
        digits[n++] = d < 10 ? '0' + d : 'a' + d - 10;
        v /= base;
    } while (v != 0);
    while (n > 0)
        put(digits[--n]);
}

/* %d %u %x %s %c %% with an optional 'l'. */
int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(*p);
            continue;
        }
        int is_long = 0;
        if (p[1] == 'l') {
            is_long = 1;
            p++;
        }
        switch (*++p) {
        case 'd': {
            long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                put('-');
                v = -v;
            }
            put_unsigned((unsigned long)v, 10);
            break;
        }
        case 'u':
            put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
            break;
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++)
                put(*s);
            break;
        case 'c':
            put((char)va_arg(ap, int));
            break;
        case '%':
            put('%');
            break;
        default:
            put('?');
        }
    }
    va_end(ap);
    flush_line();
    return 0;
}

extern int main(void);

void _init(void)
{
    exit(main());
}
