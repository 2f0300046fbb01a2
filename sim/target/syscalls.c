/*
 * gemforge target runtime: picolibc's standard streams over RISC-V semihosting.
 *
 * stdout and stderr are line-buffered in this file and written with SYS_WRITE (0x05); a buffer is written
 * out at '\n', when full, on fflush(), and by _exit() (crt0.S calls __gf_flush_all). stdin reads one byte at
 * a time with SYS_READ (0x06). The semihosting handles are obtained on first use the standard way, with
 * SYS_OPEN (0x01) of ":tt" in mode 0 ("r", stdin), 4 ("w", stdout) or 8 ("a", stderr); a host that refuses
 * the open gets the fixed handles 0, 1 and 2. write()/read() on descriptors 0-2 use the same handles
 * (after flushing the buffered stream), so mixed printf()/write() output keeps its order. Everything else picolibc needs from an OS (open, lseek,
 * times, gettimeofday, ...) comes from picolibc's libsemihost.
 */

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_READ 0x06

long __gf_semihost(long op, void *arg);

#define GF_BUF_SIZE 256

/* Semihosting handles of the three consoles, indexed by descriptor; -1 = not opened yet. */
static long gf_handles[3] = {-1, -1, -1};

static long gf_console(int fd)
{
    static const long modes[3] = {0, 4, 8};
    if (gf_handles[fd] < 0) {
        uintptr_t block[3] = {(uintptr_t)":tt", (uintptr_t)modes[fd], 3};
        long h = __gf_semihost(SYS_OPEN, block);
        gf_handles[fd] = h < 0 ? fd : h;
    }
    return gf_handles[fd];
}

static long gf_handle(int fd)
{
    return (fd >= 0 && fd <= 2) ? gf_console(fd) : fd;
}

struct gf_outbuf {
    int fd;
    size_t len;
    char data[GF_BUF_SIZE];
};

static struct gf_outbuf gf_out = {1, 0, {0}};
static struct gf_outbuf gf_err = {2, 0, {0}};

/* SYS_WRITE: returns the number of bytes NOT written. It starts with a fence, as a Rocket core's HTIF
   syscall does (riscv-tests' syscalls.c: __sync_synchronize before tohost; Rocket's fence waits for the RoCC
   accelerator): Gemmini's own programs rely on it, e.g. bareMetalC/conv.c prints after tiled_conv_auto,
   which ends without gemmini_fence(), and then compares the output. */
static long gf_sys_write(int fd, const void *buf, size_t len)
{
    __asm__ volatile("fence" ::: "memory");
    uintptr_t block[3] = {(uintptr_t)gf_handle(fd), (uintptr_t)buf, (uintptr_t)len};
    return __gf_semihost(SYS_WRITE, block);
}

static int gf_flush_buf(struct gf_outbuf *b)
{
    int rc = 0;
    if (b->len) {
        if (gf_sys_write(b->fd, b->data, b->len) != 0)
            rc = -1;
        b->len = 0;
    }
    return rc;
}

void __gf_flush_all(void)
{
    gf_flush_buf(&gf_out);
    gf_flush_buf(&gf_err);
}

static int gf_put(struct gf_outbuf *b, char c)
{
    b->data[b->len++] = c;
    if (c == '\n' || b->len == GF_BUF_SIZE)
        return gf_flush_buf(b) ? _FDEV_ERR : (unsigned char)c;
    return (unsigned char)c;
}

static int gf_stdout_put(char c, FILE *f) { (void)f; return gf_put(&gf_out, c); }
static int gf_stderr_put(char c, FILE *f) { (void)f; return gf_put(&gf_err, c); }
static int gf_stdout_flush(FILE *f) { (void)f; return gf_flush_buf(&gf_out); }
static int gf_stderr_flush(FILE *f) { (void)f; return gf_flush_buf(&gf_err); }

static int gf_stdin_get(FILE *f)
{
    (void)f;
    unsigned char c;
    gf_flush_buf(&gf_out);
    uintptr_t block[3] = {(uintptr_t)gf_console(0), (uintptr_t)&c, 1};
    long not_read = __gf_semihost(SYS_READ, block);
    if (not_read != 0)
        return _FDEV_EOF;
    return c;
}

static FILE gf_stdin_file = FDEV_SETUP_STREAM(NULL, gf_stdin_get, NULL, _FDEV_SETUP_READ);
static FILE gf_stdout_file = FDEV_SETUP_STREAM(gf_stdout_put, NULL, gf_stdout_flush, _FDEV_SETUP_WRITE);
static FILE gf_stderr_file = FDEV_SETUP_STREAM(gf_stderr_put, NULL, gf_stderr_flush, _FDEV_SETUP_WRITE);

FILE *const stdin = &gf_stdin_file;
FILE *const stdout = &gf_stdout_file;
FILE *const stderr = &gf_stderr_file;

ssize_t write(int fd, const void *buf, size_t count)
{
    if (fd == 1)
        gf_flush_buf(&gf_out);
    else if (fd == 2)
        gf_flush_buf(&gf_err);
    long not_written = gf_sys_write(fd, buf, count);
    if (not_written < 0 || (size_t)not_written > count)
        return -1;
    return (ssize_t)(count - (size_t)not_written);
}

ssize_t read(int fd, void *buf, size_t count)
{
    if (fd == 0)
        gf_flush_buf(&gf_out);
    uintptr_t block[3] = {(uintptr_t)gf_handle(fd), (uintptr_t)buf, (uintptr_t)count};
    long not_read = __gf_semihost(SYS_READ, block);
    if (not_read < 0 || (size_t)not_read > count)
        return -1;
    return (ssize_t)(count - (size_t)not_read);
}
