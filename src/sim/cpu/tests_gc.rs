//! Unit tests of the RV64GC additions to the hart: the expansion of every compressed quadrant (checked
//! against encodings produced by GNU as for the same instruction with and without RVC), compressed
//! execution and the decoded-instruction cache at 2-byte alignment, LR/SC and the AMOs, and the F/D
//! extensions (rounding modes, exception flags, NaN boxing, canonical NaNs, signed zeros).

use super::decode::{decode, decode_parcel, Op};
use super::fpu::{CANONICAL_NAN_D, CANONICAL_NAN_S};
use super::rvc::expand;
use super::*;
use crate::sim::mem::DEFAULT_BASE;

const BASE: u64 = DEFAULT_BASE;
const DATA: u64 = BASE + 0x1000;
const A0: u32 = 10;
const A1: u32 = 11;
const A2: u32 = 12;

/// Compressed halfword -> the 32-bit instruction it stands for, as GNU as 2.x encodes both
/// (`.option rvc` / `.option norvc` of the same source line).
const RVC_TABLE: &[(u16, u32)] = &[
    (0x0808, 0x01010513), // c.addi4spn a0,sp,16 = addi a0, sp, 16
    (0x1fe4, 0x3fc10493), // c.addi4spn s1,sp,1020 = addi s1, sp, 1020
    (0x2588, 0x0085b507), // c.fld fa0,8(a1) = fld fa0, 8(a1)
    (0x3fe4, 0x0f87b487), // c.fld fs1,248(a5) = fld fs1, 248(a5)
    (0x41c8, 0x0045a503), // c.lw a0,4(a1) = lw a0, 4(a1)
    (0x5fe0, 0x07c7a403), // c.lw s0,124(a5) = lw s0, 124(a5)
    (0x6690, 0x0086b603), // c.ld a2,8(a3) = ld a2, 8(a3)
    (0x7c7c, 0x0f843783), // c.ld a5,248(s0) = ld a5, 248(s0)
    (0xa90c, 0x00b53827), // c.fsd fa1,16(a0) = fsd fa1, 16(a0)
    (0xc1a8, 0x04a5a023), // c.sw a0,64(a1) = sw a0, 64(a1)
    (0xff24, 0x06973c23), // c.sd s1,120(a4) = sd s1, 120(a4)
    (0x0001, 0x00000013), // c.addi zero,0 = addi zero, zero, 0
    (0x1501, 0xfe050513), // c.addi a0,-32 = addi a0, a0, -32
    (0x02fd, 0x01f28293), // c.addi t0,31 = addi t0, t0, 31
    (0x35fd, 0xfff5859b), // c.addiw a1,-1 = addiw a1, a1, -1
    (0x2945, 0x0119091b), // c.addiw s2,17 = addiw s2, s2, 17
    (0x556d, 0xffb00513), // c.li a0,-5 = li a0, -5
    (0x4ffd, 0x01f00f93), // c.li t6,31 = li t6, 31
    (0x7101, 0xe0010113), // c.addi16sp sp,-512 = addi sp, sp, -512
    (0x617d, 0x1f010113), // c.addi16sp sp,496 = addi sp, sp, 496
    (0x657d, 0x0001f537), // c.lui a0,0x1f = lui a0, 0x1f
    (0x7981, 0xfffe09b7), // c.lui s3,0xfffe0 = lui s3, 0xfffe0
    (0x917d, 0x03f55513), // c.srli a0,0x3f = srli a0, a0, 63
    (0x8005, 0x00145413), // c.srli s0,0x1 = srli s0, s0, 1
    (0x9581, 0x4205d593), // c.srai a1,0x20 = srai a1, a1, 32
    (0x9a65, 0xff967613), // c.andi a2,-7 = andi a2, a2, -7
    (0x8d0d, 0x40b50533), // c.sub a0,a1 = sub a0, a0, a1
    (0x8c25, 0x00944433), // c.xor s0,s1 = xor s0, s0, s1
    (0x8f5d, 0x00f76733), // c.or a4,a5 = or a4, a4, a5
    (0x8ef1, 0x00c6f6b3), // c.and a3,a2 = and a3, a3, a2
    (0x9d1d, 0x40f5053b), // c.subw a0,a5 = subw a0, a0, a5
    (0x9cad, 0x00b484bb), // c.addw s1,a1 = addw s1, s1, a1
    (0xaff5, 0x7fc0006f), // c.j 83c <.text+0x83c> = j .+2044
    (0xb001, 0x801ff06f), // c.j fffffffffffff842 <.text+0xfffffffffffff842> = j .-2048
    (0xcd7d, 0x0e050f63), // c.beqz a0,142 <.text+0x142> = beqz a0, .+254
    (0xf081, 0xf00490e3), // c.bnez s1,ffffffffffffff46 <.text+0xffffffffffffff46> = bnez s1, .-256
    (0x157e, 0x03f51513), // c.slli a0,0x3f = slli a0, a0, 63
    (0x0086, 0x00109093), // c.slli ra,0x1 = slli ra, ra, 1
    (0x30fe, 0x1f813087), // c.fldsp ft1,504(sp) = fld ft1, 504(sp)
    (0x557e, 0x0fc12503), // c.lwsp a0,252(sp) = lw a0, 252(sp)
    (0x60a2, 0x00813083), // c.ldsp ra,8(sp) = ld ra, 8(sp)
    (0x7dfe, 0x1f813d83), // c.ldsp s11,504(sp) = ld s11, 504(sp)
    (0x8082, 0x00008067), // c.jr ra = jr ra
    (0x852e, 0x00b00533), // c.mv a0,a1 = add a0, zero, a1 (the spec's expansion; the assembler's `mv` is addi)
    (0x9002, 0x00100073), // c.ebreak = ebreak
    (0x9282, 0x000280e7), // c.jalr t0 = jalr t0
    (0x952e, 0x00b50533), // c.add a0,a1 = add a0, a0, a1
    (0xbfa2, 0x1e813c27), // c.fsdsp fs0,504(sp) = fsd fs0, 504(sp)
    (0xdf86, 0x0e112e23), // c.swsp ra,252(sp) = sw ra, 252(sp)
    (0xe422, 0x00813423), // c.sdsp s0,8(sp) = sd s0, 8(sp)
];

fn check_quadrant(q: u16) {
    let mut n = 0;
    for &(h, w) in RVC_TABLE.iter().filter(|(h, _)| h & 3 == q) {
        assert_eq!(expand(h), Some(w), "0x{h:04x} expands to 0x{w:08x}");
        let i = decode_parcel(h as u32);
        assert_eq!(i.len, 2);
        assert_eq!(Inst { len: 4, ..i }, decode(w), "0x{h:04x}");
        n += 1;
    }
    assert!(n >= 10, "quadrant {q}: only {n} cases");
}

#[test]
fn rvc_quadrant0_expands_like_the_assembler() {
    check_quadrant(0);
}

#[test]
fn rvc_quadrant1_expands_like_the_assembler() {
    check_quadrant(1);
}

#[test]
fn rvc_quadrant2_expands_like_the_assembler() {
    check_quadrant(2);
}

#[test]
fn rvc_reserved_encodings_are_illegal() {
    for h in [
        0x0000u16, // all zeros
        0x0004,    // c.addi4spn with nzuimm 0
        0x8000,    // quadrant 0, funct3 100 (reserved)
        0x2001,    // c.addiw x0
        0x6101,    // c.addi16sp 0
        0x6501,    // c.lui a0, 0
        0x9c41,    // reserved arithmetic slot (funct6 100111, funct2 10)
        0x9c61,    // reserved arithmetic slot (funct2 11)
        0x4002,    // c.lwsp x0
        0x6002,    // c.ldsp x0
        0x8002,    // c.jr x0
    ] {
        assert_eq!(expand(h), None, "0x{h:04x}");
        let i = decode_parcel(h as u32);
        assert_eq!((i.op, i.len), (Op::Illegal, 2), "0x{h:04x}");
        assert!(
            disassemble(h as u32, BASE).starts_with(".insn 0x"),
            "{}",
            disassemble(h as u32, BASE)
        );
    }
    // An illegal compressed instruction traps with the halfword as mtval.
    let mut m = M::new(&[0x0000_0000]);
    let r = m.trap();
    assert_eq!(
        (r.cause, r.tval, r.inst),
        (TrapCause::IllegalInstruction, 0, Some(0))
    );
    // The report says it is a 16-bit instruction.
    assert!(
        r.to_string()
            .contains("`.insn 0x0000` (0x0000, compressed)"),
        "{r}"
    );
}

// ---- Harness ----

struct M {
    hart: Hart,
    mem: Memory,
}

impl M {
    fn new(prog: &[u32]) -> M {
        let bytes: Vec<u8> = prog.iter().flat_map(|w| w.to_le_bytes()).collect();
        M::bytes(&bytes)
    }
    fn halves(prog: &[u16]) -> M {
        let bytes: Vec<u8> = prog.iter().flat_map(|w| w.to_le_bytes()).collect();
        M::bytes(&bytes)
    }
    /// A hart with the FPU enabled (mstatus.FS = Initial), as start-up code leaves it.
    fn bytes(bytes: &[u8]) -> M {
        let mut mem = Memory::new(BASE, 1 << 20);
        mem.write(BASE, bytes).unwrap();
        let mut hart = Hart::new(BASE, CpuTiming::default());
        hart.mstatus |= 1 << 13;
        M { hart, mem }
    }
    fn step(&mut self) -> Step {
        self.hart.step(&mut self.mem, 0)
    }
    fn run(&mut self, n: usize) -> u64 {
        let mut cycles = 0;
        for k in 0..n {
            match self.step() {
                Step::Retired { cycles: c } => cycles += u64::from(c),
                other => panic!("instruction {k} at pc 0x{:x}: {other:?}", self.hart.pc()),
            }
        }
        cycles
    }
    fn trap(&mut self) -> TrapReport {
        match self.step() {
            Step::Trap(r) => *r,
            other => panic!("expected a trap, got {other:?}"),
        }
    }
    fn x(&self, r: u32) -> u64 {
        self.hart.reg(r as usize)
    }
    fn set(&mut self, r: u32, v: u64) {
        self.hart.set_reg(r as usize, v);
    }
    fn read_u64(&self, addr: u64) -> u64 {
        let mut b = [0u8; 8];
        self.mem.read(addr, &mut b).unwrap();
        u64::from_le_bytes(b)
    }
}

// ---- Compressed execution ----

#[test]
fn compressed_code_runs_with_2_byte_pcs_and_links_pc_plus_2() {
    // 0: c.li a0, 5          2: addi a0, a0, 1 (32-bit, at a 2-byte-aligned pc)
    // 6: c.jalr t0 (t0 = BASE + 12)   8: c.nop  10: c.nop
    // 12: c.addi a0, -1       14: c.jr ra  (back to 8)
    let mut m = M::bytes(
        &[
            0x4515u16.to_le_bytes().to_vec(),
            0x0015_0513u32.to_le_bytes().to_vec(),
            0x9282u16.to_le_bytes().to_vec(),
            0x0001u16.to_le_bytes().to_vec(),
            0x0001u16.to_le_bytes().to_vec(),
            0x157du16.to_le_bytes().to_vec(),
            0x8082u16.to_le_bytes().to_vec(),
        ]
        .concat(),
    );
    m.set(5, BASE + 12);
    m.run(2);
    assert_eq!((m.x(A0), m.hart.pc()), (6, BASE + 6));
    m.run(1);
    assert_eq!((m.x(1), m.hart.pc()), (BASE + 8, BASE + 12));
    m.run(2);
    assert_eq!((m.x(A0), m.hart.pc()), (5, BASE + 8));
    assert_eq!(m.hart.instret(), 5);
    // The cached decode at the same 2-byte-aligned pcs runs again identically.
    m.hart.set_pc(BASE);
    m.run(5);
    assert_eq!((m.x(A0), m.hart.pc()), (5, BASE + 8));
}

#[test]
fn stores_invalidate_cached_compressed_and_straddling_instructions() {
    // 0: c.li a0, 1  2: c.li a0, 1  4: sh a1, 2(a2) -> rewrites the halfword at 2  8: c.j -8 (to 0)
    let mut m = M::halves(&[0x4505, 0x4505, 0x1123, 0x00b6, 0xbfe5]);
    // sh a1, 2(a2) = 0x00b61123: encoded above as two halfwords.
    m.set(A2, BASE);
    m.set(A1, 0x4509); // c.li a0, 2
    m.run(4);
    assert_eq!(m.hart.pc(), BASE);
    m.run(2);
    assert_eq!(m.x(A0), 2, "the store replaced the cached c.li a0, 1");
    // A 32-bit instruction that starts 2 bytes before the stored halfword is invalidated too.
    // 0: c.nop  2: addi a0, zero, 3 (0x00300513)  6: sh a1, 4(a2)  10: c.j -10 (to 0)
    let mut m = M::halves(&[0x0001, 0x0513, 0x0030, 0x1223, 0x00b6, 0xbfdd]);
    m.set(A2, BASE);
    m.set(A1, 0x0070); // upper half of addi a0, zero, 7
    m.run(4);
    m.run(2);
    assert_eq!(m.x(A0), 7);
}

#[test]
fn misa_reports_rv64gc_and_mstatus_fs_gates_the_fpu() {
    let mut m = M::new(&[0x3010_2573, 0x3000_25f3]); // csrr a0, misa; csrr a1, mstatus
    m.run(2);
    let misa = m.x(A0);
    for ext in ['A', 'C', 'D', 'F', 'I', 'M'] {
        assert_ne!(misa & (1 << (ext as u8 - b'A')), 0, "misa lacks {ext}");
    }
    assert_eq!(misa >> 62, 2);
    assert_eq!((m.x(A1) >> 13) & 3, 1, "FS as the harness set it: Initial");
    assert_eq!(m.x(A1) >> 63, 0, "SD only when FS is Dirty");
    // At reset FS is Off: FP instructions and the FP CSRs are illegal.
    let mut m = M::new(&[
        fp(0, S, 2, 1, RNE, 10), // fadd.s
        0x0010_2573,             // csrr a0, fflags
    ]);
    m.hart.mstatus &= !(3 << 13);
    assert_eq!(m.trap().cause, TrapCause::IllegalInstruction);
    m.hart.set_pc(BASE + 4);
    let r = m.trap();
    assert!(r.detail.contains("FS = Off"), "{r}");
    // csrs mstatus (FS = Initial), then an FP instruction makes it Dirty and SD reads 1.
    let mut m = M::new(&[
        0x0000_2537,             // lui a0, 0x2 (a0 = 0x2000: FS = Initial)
        0x3005_2073,             // csrs mstatus, a0
        fp(0, S, 2, 1, RNE, 10), // fadd.s
        0x3000_25f3,             // csrr a1, mstatus
    ]);
    m.hart.mstatus &= !(3 << 13);
    m.run(4);
    assert_eq!((m.x(A1) >> 13) & 3, 3);
    assert_eq!(m.x(A1) >> 63, 1);
}

// ---- A ----

fn amo(f5: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    (f5 << 27) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x2f
}
const W: u32 = 2;
const D: u32 = 3;
fn sd(rs2: u32, rs1: u32, off: u32) -> u32 {
    ((off >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((off & 31) << 7) | 0x23
}

#[test]
fn lr_sc_succeed_once_and_fail_after_a_store_or_another_sc() {
    // lr.d a0, (a2); sc.d a1, a3, (a2); sc.d a1, a3, (a2) (no reservation left).
    let mut m = M::new(&[
        amo(2, D, A0, A2, 0),
        amo(3, D, A1, A2, 13),
        amo(3, D, 14, A2, 13),
    ]);
    m.mem.write(DATA, &7u64.to_le_bytes()).unwrap();
    m.set(A2, DATA);
    m.set(13, 99);
    m.run(3);
    assert_eq!((m.x(A0), m.x(A1), m.x(14)), (7, 0, 1));
    assert_eq!(m.read_u64(DATA), 99);
    // A store to the reserved doubleword in between: the SC fails and stores nothing.
    let mut m = M::new(&[amo(2, D, A0, A2, 0), sd(0, A2, 4), amo(3, D, A1, A2, 13)]);
    m.set(A2, DATA);
    m.set(13, 99);
    m.run(3);
    assert_eq!((m.x(A1), m.read_u64(DATA)), (1, 0));
    // A store elsewhere keeps the reservation; an SC to another address fails.
    let mut m = M::new(&[
        amo(2, W, A0, A2, 0),
        sd(0, A2, 64),
        amo(3, W, A1, A2, 13),
        amo(2, W, A0, A2, 0),
        amo(3, W, A1, 14, 13),
    ]);
    m.set(A2, DATA);
    m.set(14, DATA + 8);
    m.set(13, 0x8000_0001);
    m.run(3);
    assert_eq!((m.x(A1), m.read_u64(DATA)), (0, 0x8000_0001));
    m.run(2);
    // lr.w sign-extends; the SC to DATA + 8 fails.
    assert_eq!((m.x(A0), m.x(A1)), (0xffff_ffff_8000_0001, 1));
    assert_eq!(m.read_u64(DATA + 8), 0);
    // Misaligned LR and SC trap.
    let mut m = M::new(&[amo(2, D, A0, A2, 0)]);
    m.set(A2, DATA + 4);
    assert_eq!(m.trap().cause, TrapCause::LoadMisaligned);
    let mut m = M::new(&[amo(3, W, A0, A2, 0)]);
    m.set(A2, DATA + 2);
    assert_eq!(m.trap().cause, TrapCause::StoreMisaligned);
}

#[test]
fn amos_compute_and_sign_extend_word_results() {
    // (funct5, width, old, rs2, expected new memory, expected rd)
    let cases: &[(u32, u32, u64, u64, u64, u64)] = &[
        (0b00001, D, 5, 9, 9, 5),                               // amoswap.d
        (0b00000, W, 0x7fff_ffff, 1, 0x8000_0000, 0x7fff_ffff), // amoadd.w wraps
        (
            0b00000,
            W,
            0xffff_fffe,
            1,
            0xffff_ffff,
            0xffff_ffff_ffff_fffe,
        ), // old sign-extended
        (0b00100, D, 0b1100, 0b1010, 0b0110, 0b1100),           // amoxor.d
        (
            0b01100,
            W,
            0xf0f0_f0f0,
            0xff00_ff00,
            0xf000_f000,
            0xffff_ffff_f0f0_f0f0,
        ), // amoand.w
        (0b01000, D, 1, 6, 7, 1),                               // amoor.d
        (
            0b10000,
            W,
            0x8000_0000,
            1,
            0x8000_0000,
            0xffff_ffff_8000_0000,
        ), // amomin.w signed
        (0b10100, W, 0x8000_0000, 1, 1, 0xffff_ffff_8000_0000), // amomax.w signed
        (0b11000, W, 0x8000_0000, 1, 1, 0xffff_ffff_8000_0000), // amominu.w unsigned
        (
            0b11100,
            W,
            0x8000_0000,
            1,
            0x8000_0000,
            0xffff_ffff_8000_0000,
        ), // amomaxu.w
        (0b10000, D, u64::MAX, 0, u64::MAX, u64::MAX),          // amomin.d: -1 < 0
        (0b11100, D, u64::MAX, 0, u64::MAX, u64::MAX),          // amomaxu.d
    ];
    for &(f5, width, old, src, new, rd) in cases {
        let mut m = M::new(&[amo(f5, width, A0, A2, A1)]);
        m.mem.write(DATA, &old.to_le_bytes()).unwrap();
        m.set(A2, DATA);
        m.set(A1, src);
        let cycles = m.run(1);
        assert_eq!(cycles, u64::from(CpuTiming::default().amo));
        let mask = if width == W { 0xffff_ffff } else { u64::MAX };
        assert_eq!(m.read_u64(DATA) & mask, new, "funct5 {f5:05b}");
        if width == W {
            assert_eq!(
                m.read_u64(DATA) >> 32,
                old >> 32,
                "a word AMO writes 4 bytes"
            );
        }
        assert_eq!(m.x(A0), rd, "funct5 {f5:05b}");
    }
    // A misaligned AMO is a store/AMO address-misaligned trap; out of memory an access fault.
    let mut m = M::new(&[amo(0, W, A0, A2, A1)]);
    m.set(A2, DATA + 1);
    assert_eq!(m.trap().cause, TrapCause::StoreMisaligned);
    let mut m = M::new(&[amo(0, D, A0, A2, A1)]);
    m.set(A2, 0x1000);
    assert_eq!(m.trap().cause, TrapCause::StoreAccessFault);
}

// ---- F and D ----

const RNE: u32 = 0;
const RTZ: u32 = 1;
const RDN: u32 = 2;
const RUP: u32 = 3;
const RMM: u32 = 4;
const DYN: u32 = 7;
const S: u32 = 0;
const DB: u32 = 1;
const NX: u64 = 1;
const UF: u64 = 2;
const OF: u64 = 4;
const DZ: u64 = 8;
const NV: u64 = 16;

/// OP-FP: funct5, fmt, rs2, rs1, rm/funct3, rd.
fn fp(f5: u32, fmt: u32, rs2: u32, rs1: u32, rm: u32, rd: u32) -> u32 {
    (f5 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53
}
fn fma(op: u32, fmt: u32, rs3: u32, rs2: u32, rs1: u32, rm: u32, rd: u32) -> u32 {
    (rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | op
}
fn bs(v: f32) -> u64 {
    0xffff_ffff_0000_0000 | u64::from(v.to_bits())
}

/// Run one FP instruction with f1, f2, f3 (raw register bits) and integer a1 as inputs; returns
/// (f10 raw bits, a0, fflags).
fn run_fp(inst: u32, f1: u64, f2: u64, f3: u64, a1: u64) -> (u64, u64, u64) {
    run_fp_frm(inst, f1, f2, f3, a1, 0)
}

fn run_fp_frm(inst: u32, f1: u64, f2: u64, f3: u64, a1: u64, frm: u8) -> (u64, u64, u64) {
    let mut m = M::new(&[inst]);
    m.hart.set_freg(1, f1);
    m.hart.set_freg(2, f2);
    m.hart.set_freg(3, f3);
    m.hart.frm = frm;
    m.set(A1, a1);
    m.run(1);
    (m.hart.freg(10), m.x(A0), u64::from(m.hart.fflags))
}

#[test]
fn fadd_s_rounds_in_every_mode_with_flags() {
    // 1 + 2^-24 is halfway between 1 and 1 + 2^-23: RNE picks the even 1.0, RMM and RUP go up.
    let one = bs(1.0);
    let tiny = bs(f32::from_bits(0x3380_0000)); // 2^-24
    let up = bs(f32::from_bits(0x3f80_0001));
    for (rm, want) in [(RNE, one), (RTZ, one), (RDN, one), (RUP, up), (RMM, up)] {
        let (f, _, fl) = run_fp(fp(0, S, 2, 1, rm, 10), one, tiny, 0, 0);
        assert_eq!((f, fl), (want, NX), "rm {rm}");
    }
    // Negative operands: RDN rounds away from zero, RUP toward it.
    let m_one = bs(-1.0);
    let m_tiny = bs(-f32::from_bits(0x3380_0000));
    let m_up = bs(-f32::from_bits(0x3f80_0001));
    for (rm, want) in [
        (RNE, m_one),
        (RTZ, m_one),
        (RDN, m_up),
        (RUP, m_one),
        (RMM, m_up),
    ] {
        let (f, _, fl) = run_fp(fp(0, S, 2, 1, rm, 10), m_one, m_tiny, 0, 0);
        assert_eq!((f, fl), (want, NX), "rm {rm}");
    }
    // Dynamic rounding takes frm.
    let (f, _, _) = run_fp_frm(fp(0, S, 2, 1, DYN, 10), one, tiny, 0, 0, RUP as u8);
    assert_eq!(f, up);
    // An exact sum raises nothing.
    let (f, _, fl) = run_fp(fp(0, S, 2, 1, RNE, 10), bs(1.5), bs(2.25), 0, 0);
    assert_eq!((f, fl), (bs(3.75), 0));
}

#[test]
fn signed_zeros_follow_the_rounding_mode() {
    // x - x is +0 in every mode but RDN, where it is -0.
    for (rm, want) in [
        (RNE, 0.0f64),
        (RTZ, 0.0),
        (RUP, 0.0),
        (RMM, 0.0),
        (RDN, -0.0),
    ] {
        let (f, _, fl) = run_fp(
            fp(1, DB, 2, 1, rm, 10),
            3.5f64.to_bits(),
            3.5f64.to_bits(),
            0,
            0,
        );
        assert_eq!((f, fl), (want.to_bits(), 0), "rm {rm}");
    }
    // -0 + -0 = -0; fmul of opposite signs gives -0.
    let nz = (-0.0f64).to_bits();
    assert_eq!(run_fp(fp(0, DB, 2, 1, RNE, 10), nz, nz, 0, 0).0, nz);
    assert_eq!(
        run_fp(fp(2, DB, 2, 1, RNE, 10), nz, 5.0f64.to_bits(), 0, 0).0,
        nz
    );
    // fsqrt(-0) = -0 without flags.
    assert_eq!(run_fp(fp(0x0b, DB, 0, 1, RNE, 10), nz, 0, 0, 0), (nz, 0, 0));
}

#[test]
fn invalid_operations_give_the_canonical_nan_and_nv() {
    let inf = f64::INFINITY.to_bits();
    // inf - inf, 0 * inf, 0 / 0, sqrt(-1): canonical NaN, NV.
    assert_eq!(
        run_fp(fp(1, DB, 2, 1, RNE, 10), inf, inf, 0, 0),
        (CANONICAL_NAN_D, 0, NV)
    );
    assert_eq!(
        run_fp(fp(2, DB, 2, 1, RNE, 10), 0, inf, 0, 0),
        (CANONICAL_NAN_D, 0, NV)
    );
    assert_eq!(
        run_fp(fp(3, S, 2, 1, RNE, 10), bs(0.0), bs(0.0), 0, 0),
        (nan_s(), 0, NV)
    );
    assert_eq!(
        run_fp(fp(0x0b, S, 0, 1, RNE, 10), bs(-1.0), 0, 0, 0),
        (nan_s(), 0, NV)
    );
    // A quiet NaN payload does not propagate: the result is canonical, and no flag is raised.
    let qnan_payload = bs(f32::from_bits(0x7fc1_2345));
    assert_eq!(
        run_fp(fp(0, S, 2, 1, RNE, 10), qnan_payload, bs(1.0), 0, 0),
        (nan_s(), 0, 0)
    );
    // A signaling NaN operand raises NV.
    let snan = bs(f32::from_bits(0x7f80_0001));
    assert_eq!(
        run_fp(fp(2, S, 2, 1, RNE, 10), snan, bs(1.0), 0, 0),
        (nan_s(), 0, NV)
    );
    // fma: 0 * inf + qNaN is invalid too (RISC-V raises NV for it).
    let (f, _, fl) = run_fp(fma(0x43, DB, 3, 2, 1, RNE, 10), 0, inf, CANONICAL_NAN_D, 0);
    assert_eq!((f, fl), (CANONICAL_NAN_D, NV));
}

fn nan_s() -> u64 {
    0xffff_ffff_0000_0000 | u64::from(CANONICAL_NAN_S)
}

#[test]
fn nan_boxing_of_singles() {
    // An improperly boxed single reads as the canonical NaN.
    let unboxed = u64::from(1.0f32.to_bits());
    assert_eq!(
        run_fp(fp(0, S, 2, 1, RNE, 10), unboxed, bs(1.0), 0, 0).0,
        nan_s()
    );
    // flw boxes; fmv.x.w sign-extends the low word without checking the box; fmv.w.x boxes.
    let mut m = M::new(&[
        0x0006_2507,                      // flw fa0, 0(a2)
        0xe005_0553,                      // fmv.x.w a0, fa0
        0xf005_85d3,                      // fmv.w.x fa1, a1
        0xe205_85d3 & !0xf80 | (13 << 7), // fmv.x.d a3, fa1
    ]);
    m.mem.write(DATA, &0xbf80_0000u32.to_le_bytes()).unwrap();
    m.set(A2, DATA);
    m.set(A1, 0x1234_5678_4040_0000);
    m.run(4);
    assert_eq!(m.hart.freg(10), 0xffff_ffff_bf80_0000);
    assert_eq!(m.x(A0), 0xffff_ffff_bf80_0000);
    assert_eq!(m.hart.freg(11), 0xffff_ffff_4040_0000);
    assert_eq!(m.x(13), 0xffff_ffff_4040_0000);
    // fsgnj.s of a boxed value and an unboxed one: the unboxed one is the canonical NaN (sign 0).
    let (f, _, _) = run_fp(fp(4, S, 2, 1, 0, 10), bs(-2.0), unboxed, 0, 0);
    assert_eq!(f, bs(2.0));
}

#[test]
fn overflow_underflow_and_divide_by_zero_flags() {
    let max = bs(f32::MAX);
    // MAX * 2: +inf in RNE/RUP (OF|NX), MAX in RTZ/RDN.
    for (rm, want) in [
        (RNE, bs(f32::INFINITY)),
        (RUP, bs(f32::INFINITY)),
        (RTZ, max),
        (RDN, max),
    ] {
        let (f, _, fl) = run_fp(fp(2, S, 2, 1, rm, 10), max, bs(2.0), 0, 0);
        assert_eq!((f, fl), (want, OF | NX), "rm {rm}");
    }
    // A tiny inexact result: UF|NX; an exact subnormal result: no UF.
    let small = bs(f32::from_bits(0x0080_0001)); // just above MIN_POSITIVE
    let (f, _, fl) = run_fp(fp(2, S, 2, 1, RNE, 10), small, bs(0.3), 0, 0);
    assert_eq!(fl, UF | NX);
    assert!(f32::from_bits(f as u32) < f32::MIN_POSITIVE);
    let (_, _, fl) = run_fp(
        fp(2, S, 2, 1, RNE, 10),
        bs(f32::MIN_POSITIVE),
        bs(0.5),
        0,
        0,
    );
    assert_eq!(fl, 0);
    // 1 / 0 = +inf with DZ; -1 / 0 = -inf.
    assert_eq!(
        run_fp(fp(3, DB, 2, 1, RNE, 10), 1f64.to_bits(), 0, 0, 0).0,
        f64::INFINITY.to_bits()
    );
    assert_eq!(
        run_fp(fp(3, DB, 2, 1, RNE, 10), 1f64.to_bits(), 0, 0, 0).2,
        DZ
    );
    assert_eq!(
        run_fp(fp(3, DB, 2, 1, RNE, 10), (-1f64).to_bits(), 0, 0, 0).0,
        f64::NEG_INFINITY.to_bits()
    );
    // Flags accrue in fflags until software clears them.
    let mut m = M::new(&[
        fp(3, DB, 2, 1, RNE, 10), // DZ
        fp(2, S, 5, 4, RNE, 11),  // OF|NX
        0x0010_2573,              // csrr a0, fflags
        0x0030_15f3,              // csrrw a1, fcsr, zero
        0x0030_2673,              // csrr a2, fcsr
    ]);
    m.hart.set_freg(1, 1f64.to_bits());
    m.hart.set_freg(4, max);
    m.hart.set_freg(5, bs(2.0));
    m.run(5);
    assert_eq!((m.x(A0), m.x(A1), m.x(A2)), (DZ | OF | NX, DZ | OF | NX, 0));
}

#[test]
fn fma_rounds_once() {
    // (1 + 2^-52) * (1 - 2^-52) - 1 = -2^-104 exactly: a fused multiply-add keeps it; separate
    // operations would round the product to 1 and give 0.
    let a = f64::from_bits(0x3ff0_0000_0000_0001);
    let b = f64::from_bits(0x3fef_ffff_ffff_fffe);
    let (f, _, fl) = run_fp(
        fma(0x47, DB, 3, 2, 1, RNE, 10), // fmsub.d: a*b - c
        a.to_bits(),
        b.to_bits(),
        1f64.to_bits(),
        0,
    );
    assert_eq!((f64::from_bits(f), fl), (-(2f64.powi(-104)), 0));
    // fnmadd.s: -(a*b) - c; fnmsub.s: -(a*b) + c; fmadd.s.
    assert_eq!(
        run_fp(fma(0x4f, S, 3, 2, 1, RNE, 10), bs(2.0), bs(3.0), bs(1.0), 0).0,
        bs(-7.0)
    );
    assert_eq!(
        run_fp(fma(0x4b, S, 3, 2, 1, RNE, 10), bs(2.0), bs(3.0), bs(1.0), 0).0,
        bs(-5.0)
    );
    assert_eq!(
        run_fp(fma(0x43, S, 3, 2, 1, RNE, 10), bs(2.0), bs(3.0), bs(1.0), 0).0,
        bs(7.0)
    );
}

#[test]
fn conversions_to_integers_round_and_saturate() {
    // fcvt.w.s of 2.5 and -2.5 in each mode.
    let cases = [
        (RNE, 2.5f32, 2i64),
        (RTZ, 2.5, 2),
        (RDN, 2.5, 2),
        (RUP, 2.5, 3),
        (RMM, 2.5, 3),
        (RNE, -2.5, -2),
        (RTZ, -2.5, -2),
        (RDN, -2.5, -3),
        (RUP, -2.5, -2),
        (RMM, -2.5, -3),
    ];
    for (rm, v, want) in cases {
        let (_, x, fl) = run_fp(fp(0x18, S, 0, 1, rm, A0), bs(v), 0, 0, 0);
        assert_eq!((x as i64, fl), (want, NX), "fcvt.w.s {v} rm {rm}");
    }
    // Out of range and NaN: saturate with NV (NaN -> the largest positive integer).
    let nan = nan_s();
    assert_eq!(
        run_fp(fp(0x18, S, 0, 1, RNE, A0), nan, 0, 0, 0).1,
        0x7fff_ffff
    );
    assert_eq!(
        run_fp(fp(0x18, S, 0, 1, RNE, A0), bs(-1e20), 0, 0, 0).1 as i64,
        i32::MIN as i64
    );
    assert_eq!(run_fp(fp(0x18, S, 0, 1, RNE, A0), bs(-1e20), 0, 0, 0).2, NV);
    // fcvt.wu.s: negative -> 0 with NV; a large u32 is sign-extended from bit 31.
    assert_eq!(
        run_fp(fp(0x18, S, 1, 1, RNE, A0), bs(-1.0), 0, 0, 0),
        (0, 0, NV)
    );
    assert_eq!(
        run_fp(fp(0x18, S, 1, 1, RNE, A0), bs(4e9), 0, 0, 0).1,
        4_000_000_000u32 as i32 as i64 as u64
    );
    // fcvt.l.d / fcvt.lu.d.
    assert_eq!(
        run_fp(fp(0x18, DB, 2, 1, RTZ, A0), (-7.9f64).to_bits(), 0, 0, 0).1 as i64,
        -7
    );
    assert_eq!(
        run_fp(fp(0x18, DB, 3, 1, RNE, A0), 1e30f64.to_bits(), 0, 0, 0),
        (0, u64::MAX, NV)
    );
    // -0.5 to unsigned rounds to 0 in RTZ: inexact, not invalid.
    assert_eq!(
        run_fp(fp(0x18, DB, 3, 1, RTZ, A0), (-0.5f64).to_bits(), 0, 0, 0),
        (0, 0, NX)
    );
}

#[test]
fn conversions_from_integers_and_between_formats() {
    // fcvt.s.l of 2^24 + 1 is inexact: RNE -> 2^24, RUP -> 2^24 + 2.
    let v = (1u64 << 24) + 1;
    assert_eq!(
        run_fp(fp(0x1a, S, 2, A1, RNE, 10), 0, 0, 0, v),
        (bs(16777216.0), 0, NX)
    );
    assert_eq!(
        run_fp(fp(0x1a, S, 2, A1, RUP, 10), 0, 0, 0, v).0,
        bs(16777218.0)
    );
    // fcvt.d.w sign-extends the low word; fcvt.d.wu zero-extends it.
    assert_eq!(
        run_fp(fp(0x1a, DB, 0, A1, RNE, 10), 0, 0, 0, 0xffff_ffff).0,
        (-1f64).to_bits()
    );
    assert_eq!(
        run_fp(fp(0x1a, DB, 1, A1, RNE, 10), 0, 0, 0, 0xffff_ffff).0,
        4294967295f64.to_bits()
    );
    // fcvt.s.d rounds by rm; fcvt.d.s is exact; a NaN becomes the canonical NaN.
    let third = (1.0f64 / 3.0).to_bits();
    let (rne, _, fl) = run_fp(fp(8, S, 1, 1, RNE, 10), third, 0, 0, 0);
    let (rup, _, _) = run_fp(fp(8, S, 1, 1, RUP, 10), third, 0, 0, 0);
    let (rdn, _, _) = run_fp(fp(8, S, 1, 1, RDN, 10), third, 0, 0, 0);
    assert_eq!(fl, NX);
    assert_eq!(rne, bs(1.0f32 / 3.0));
    assert_eq!((rup as u32) - (rdn as u32), 1);
    assert_eq!(
        run_fp(fp(8, DB, 0, 1, RNE, 10), bs(0.75), 0, 0, 0),
        (0.75f64.to_bits(), 0, 0)
    );
    let snan_d = 0x7ff0_0000_0000_0001u64;
    assert_eq!(
        run_fp(fp(8, S, 1, 1, RNE, 10), snan_d, 0, 0, 0),
        (nan_s(), 0, NV)
    );
}

#[test]
fn compare_min_max_classify_and_sign_injection() {
    let q = nan_s();
    let snan = bs(f32::from_bits(0x7f80_0001));
    // feq is quiet (NV only for sNaN); flt and fle signal on any NaN.
    assert_eq!(
        run_fp(fp(0x14, S, 2, 1, 2, A0), q, bs(1.0), 0, 0),
        (0, 0, 0)
    );
    assert_eq!(
        run_fp(fp(0x14, S, 2, 1, 2, A0), snan, bs(1.0), 0, 0),
        (0, 0, NV)
    );
    assert_eq!(
        run_fp(fp(0x14, S, 2, 1, 1, A0), q, bs(1.0), 0, 0),
        (0, 0, NV)
    );
    assert_eq!(
        run_fp(fp(0x14, S, 2, 1, 0, A0), bs(1.0), bs(1.0), 0, 0),
        (0, 1, 0)
    );
    assert_eq!(
        run_fp(fp(0x14, S, 2, 1, 2, A0), bs(-0.0), bs(0.0), 0, 0),
        (0, 1, 0)
    );
    assert_eq!(
        run_fp(fp(0x14, DB, 2, 1, 1, A0), (-1f64).to_bits(), 0, 0, 0),
        (0, 1, 0)
    );
    // fmin/fmax: -0 < +0; one NaN -> the other operand; two NaNs -> canonical; sNaN raises NV.
    let (pz, nz) = (bs(0.0), bs(-0.0));
    assert_eq!(run_fp(fp(5, S, 2, 1, 0, 10), pz, nz, 0, 0).0, nz);
    assert_eq!(run_fp(fp(5, S, 2, 1, 1, 10), nz, pz, 0, 0).0, pz);
    assert_eq!(
        run_fp(fp(5, S, 2, 1, 0, 10), q, bs(3.0), 0, 0),
        (bs(3.0), 0, 0)
    );
    assert_eq!(
        run_fp(fp(5, S, 2, 1, 1, 10), snan, bs(3.0), 0, 0),
        (bs(3.0), 0, NV)
    );
    assert_eq!(run_fp(fp(5, S, 2, 1, 0, 10), q, snan, 0, 0), (q, 0, NV));
    assert_eq!(
        run_fp(fp(5, DB, 2, 1, 1, 10), 1f64.to_bits(), 2f64.to_bits(), 0, 0).0,
        2f64.to_bits()
    );
    // fclass: one bit per class.
    let class = |v: u64, fmt: u32| run_fp(fp(0x1c, fmt, 0, 1, 1, A0), v, 0, 0, 0).1;
    assert_eq!(class(bs(f32::NEG_INFINITY), S), 1 << 0);
    assert_eq!(class(bs(-1.0), S), 1 << 1);
    assert_eq!(class(bs(-f32::from_bits(1)), S), 1 << 2);
    assert_eq!(class(nz, S), 1 << 3);
    assert_eq!(class(pz, S), 1 << 4);
    assert_eq!(class(bs(f32::from_bits(1)), S), 1 << 5);
    assert_eq!(class(bs(1.0), S), 1 << 6);
    assert_eq!(class(bs(f32::INFINITY), S), 1 << 7);
    assert_eq!(class(snan, S), 1 << 8);
    assert_eq!(class(q, S), 1 << 9);
    assert_eq!(
        class(0x1, S),
        1 << 9,
        "an unboxed single is the canonical quiet NaN"
    );
    assert_eq!(class(f64::MIN_POSITIVE.to_bits() >> 1, DB), 1 << 5);
    assert_eq!(class(CANONICAL_NAN_D, DB), 1 << 9);
    // fsgnj / fsgnjn / fsgnjx (fneg, fabs), no flags even for NaNs.
    assert_eq!(
        run_fp(fp(4, S, 2, 1, 0, 10), bs(3.0), bs(-1.0), 0, 0),
        (bs(-3.0), 0, 0)
    );
    assert_eq!(
        run_fp(fp(4, S, 2, 1, 1, 10), bs(3.0), bs(3.0), 0, 0).0,
        bs(-3.0)
    );
    assert_eq!(
        run_fp(fp(4, S, 2, 1, 2, 10), bs(-3.0), bs(-1.0), 0, 0).0,
        bs(3.0)
    );
    assert_eq!(
        run_fp(fp(4, DB, 2, 1, 1, 10), snan, snan, 0, 0),
        (snan ^ (1 << 63), 0, 0)
    );
}

#[test]
fn reserved_rounding_modes_are_illegal() {
    // rm field 5 or 6: illegal at decode; dynamic with frm >= 5: illegal when executed.
    assert_eq!(decode(fp(0, S, 2, 1, 5, 10)).op, Op::Illegal);
    assert_eq!(decode(fp(0, S, 2, 1, 6, 10)).op, Op::Illegal);
    let mut m = M::new(&[fp(0, S, 2, 1, DYN, 10)]);
    m.hart.frm = 5;
    let r = m.trap();
    assert_eq!(r.cause, TrapCause::IllegalInstruction);
    assert!(r.detail.contains("rounding mode"), "{r}");
    // Sign injection has no rounding mode and runs whatever frm holds.
    let mut m = M::new(&[fp(4, S, 2, 1, 0, 10)]);
    m.hart.frm = 6;
    m.run(1);
}

#[test]
fn fp_loads_stores_and_timing() {
    let t = CpuTiming::default();
    let mut m = M::new(&[
        0x0006_3507,                       // fld fa0, 0(a2)
        0x00a6_3427,                       // fsd fa0, 8(a2)
        0x00a6_2827,                       // fsw fa0, 16(a2)
        fp(3, DB, 10, 10, RNE, 11),        // fdiv.d fa1, fa0, fa0
        fma(0x43, S, 10, 10, 10, RNE, 12), // fmadd.s (on an unboxed register: NaN)
    ]);
    m.mem.write(DATA, &2.5f64.to_bits().to_le_bytes()).unwrap();
    m.set(A2, DATA);
    assert_eq!(m.run(1), u64::from(t.load));
    assert_eq!(m.run(2), 2 * u64::from(t.store));
    assert_eq!(m.read_u64(DATA + 8), 2.5f64.to_bits());
    assert_eq!(
        m.read_u64(DATA + 16) & 0xffff_ffff,
        2.5f64.to_bits() & 0xffff_ffff
    );
    assert_eq!(m.run(1), u64::from(t.fdiv_d));
    assert_eq!(m.hart.freg(11), 1f64.to_bits());
    assert_eq!(m.run(1), u64::from(t.fma_s));
    assert_eq!(m.hart.freg(12), nan_s());
}

#[test]
fn disassembles_the_new_instructions() {
    for (w, want) in [
        (0x0808u32, "addi a0, sp, 16"),
        (amo(0, W, A0, A2, A1), "amoadd.w a0, a1, (a2)"),
        (amo(2, D, A0, A2, 0), "lr.d a0, (a2)"),
        (amo(3, W, A1, A2, 13), "sc.w a1, a3, (a2)"),
        (
            fma(0x43, DB, 3, 2, 1, DYN, 10),
            "fmadd.d fa0, ft1, ft2, ft3",
        ),
        (fp(0, S, 2, 1, RTZ, 10), "fadd.s fa0, ft1, ft2, rtz"),
        (fp(0x18, S, 1, 1, DYN, A0), "fcvt.wu.s a0, ft1"),
        (fp(0x1a, DB, 2, A1, DYN, 10), "fcvt.d.l fa0, a1"),
        (fp(8, S, 1, 1, DYN, 10), "fcvt.s.d fa0, ft1"),
        (fp(0x14, S, 2, 1, 2, A0), "feq.s a0, ft1, ft2"),
        (0x0006_2507, "flw fa0, 0(a2)"),
        (0x00a6_3427, "fsd fa0, 8(a2)"),
    ] {
        assert_eq!(disassemble(w, BASE), want, "0x{w:08x}");
    }
}
