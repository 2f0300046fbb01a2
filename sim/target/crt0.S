/*
 * gemforge target start-up: bare-metal, machine mode, one hart, RV64GC (or a subset: -march chooses).
 *
 * _start: sets gp and sp from the linker script, points tp at the thread-local block (picolibc keeps errno
 * there), zeroes .tbss/.sbss/.bss, runs the constructors, calls main(argc, argv, envp) and passes main's
 * return value to exit(), which runs atexit handlers and destructors and then _exit().
 *
 * main's arguments: the simulator writes them into __gf_args (below) after loading the program, laid out
 * in the order of the RISC-V psABI's initial process stack: argc, argv[0..argc), NULL, envp (empty: one
 * NULL), then the strings (src/sim/soc.rs, write_args). A block left zero (argc = 0: a loader that knows
 * nothing of it) gives argc = 1, argv = {"main", NULL}.
 *
 * No trap vector is installed (mtvec stays 0), so the simulator reports any trap with its PC.
 *
 * Also here: the semihosting entry __gf_semihost(op, arg) (the standard RISC-V sequence
 * slli x0,x0,0x1f; ebreak; srai x0,x0,7, kept inside one aligned 16-byte block), _exit() through
 * SYS_EXIT_EXTENDED (falls back to SYS_EXIT), and weak HTIF tohost/fromhost words.
 */

    .section .text.init.enter, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    /* Turn the FPU on (mstatus.FS = Initial; it resets to Off): rv64gc code may use FP registers.
     * Zicsr is named explicitly, as -march strings without it (rv64im) do not imply it. */
    .option push
    .option arch, +zicsr
    li      t0, 1 << 13
    csrs    mstatus, t0
    .option pop
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack
    andi    sp, sp, -16
    la      tp, __tls_base

    /* zero [__bss_start, __bss_end): .tbss, .sbss, .bss (both ends are 8-byte aligned) */
    la      t0, __bss_start
    la      t1, __bss_end
    j       2f
1:  sd      zero, 0(t0)
    addi    t0, t0, 8
2:  bltu    t0, t1, 1b

    call    __libc_init_array

    la      t0, __gf_args
    ld      a0, 0(t0)
    beqz    a0, 5f
    addi    a1, t0, 8           /* argv */
    slli    t1, a0, 3
    add     a2, a1, t1
    addi    a2, a2, 8           /* envp: after argv's NULL */
    j       6f
5:  li      a0, 1
    la      a1, __gf_argv
    addi    a2, a1, 8           /* envp: argv's NULL, an empty environment */
6:  call    main
    call    exit
3:  j       3b
    .size _start, . - _start

/* long __gf_semihost(long op, void *arg): a semihosting call; returns the host's a0. */
    .section .text.__gf_semihost, "ax", @progbits
    .globl __gf_semihost
    .type __gf_semihost, @function
    .balign 16
__gf_semihost:
    .option push
    .option norvc
    slli    x0, x0, 0x1f
    ebreak
    srai    x0, x0, 7
    .option pop
    ret
    .size __gf_semihost, . - __gf_semihost

/* void _exit(int code): flush the runtime's output buffers, then SYS_EXIT_EXTENDED (0x20) with the
   parameter block [ADP_Stopped_ApplicationExit = 0x20026, code]. If the host returns (it does not know
   the call), SYS_EXIT (0x18) with the same block, which on RV64 carries the code too. Never returns. */
    .section .text._exit, "ax", @progbits
    .globl _exit
    .type _exit, @function
_exit:
    addi    sp, sp, -32
    sd      a0, 8(sp)
    call    __gf_flush_all
    ld      a0, 8(sp)
    li      t0, 0x20026
    sd      t0, 16(sp)
    sd      a0, 24(sp)
    li      a0, 0x20
    addi    a1, sp, 16
    call    __gf_semihost
    li      a0, 0x18
    addi    a1, sp, 16
    call    __gf_semihost
4:  j       4b
    .size _exit, . - _exit

/* main's arguments, written by the simulator (see the top). Not in .bss, which start-up zeroes; its own
   section, which link.ld places after .bss. */
    .section .gf_args, "aw", @nobits
    .balign 16
    .globl __gf_args
    .type __gf_args, @object
__gf_args:
    .skip   16384
    .size __gf_args, 16384

    .section .data.__gf_argv, "aw", @progbits
    .balign 8
__gf_argv:
    .dword  __gf_argv0
    .dword  0
__gf_argv0:
    .string "main"

/* HTIF mailbox for Spike-style programs; weak so that a program's own definitions win. */
    .section .tohost, "aw", @progbits
    .balign 64
    .weak tohost
    .type tohost, @object
tohost:
    .dword 0
    .size tohost, 8
    .balign 64
    .weak fromhost
    .type fromhost, @object
fromhost:
    .dword 0
    .size fromhost, 8
