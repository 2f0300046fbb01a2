/*
 * Start-up code for a bare-metal RV64GC program that talks to the host through HTIF only, built the way
 * gemmini-rocc-tests' Makefile builds its bare-metal tests (its own crt, link script and syscalls, no C
 * library): written for gemforge's tests/hart.rs.
 *
 * _start: enables the FPU (mstatus.FS = Initial), clears fcsr, installs a trap vector that reports
 * (mcause << 1) | 1 ... as an exit code through tohost, sets gp and sp, zeroes .bss and calls _init.
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    li      t0, (1 << 13)           /* mstatus.FS = Initial: FP instructions become legal */
    csrs    mstatus, t0
    csrwi   fcsr, 0
    la      t0, trap_entry
    csrw    mtvec, t0
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _stack_top
    la      t0, _bss_start
    la      t1, _bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    _init
3:  j       3b

/* Any trap ends the run with exit code 1000 + mcause. */
    .balign 4
trap_entry:
    csrr    a0, mcause
    addi    a0, a0, 1000
    slli    a0, a0, 1
    ori     a0, a0, 1
    la      t0, tohost
    sd      a0, 0(t0)
4:  j       4b
