//! Unit tests of the hart per instruction class, its traps, the RoCC port and the host services. Programs
//! are assembled with the small encoders below.

use super::semihost::*;
use super::*;
use crate::sim::mem::DEFAULT_BASE;

// ---- A tiny assembler ----

mod asm {
    pub const ZERO: u32 = 0;
    pub const RA: u32 = 1;
    pub const SP: u32 = 2;
    pub const T0: u32 = 5;
    pub const T1: u32 = 6;
    pub const A0: u32 = 10;
    pub const A1: u32 = 11;
    pub const A2: u32 = 12;
    pub const A3: u32 = 13;

    pub fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    pub fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    pub fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32) -> u32 {
        let imm = imm as u32;
        (((imm >> 5) & 0x7f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | ((imm & 0x1f) << 7)
            | op
    }
    pub fn b(off: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
        let o = off as u32;
        (((o >> 12) & 1) << 31)
            | (((o >> 5) & 0x3f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | (((o >> 1) & 0xf) << 8)
            | (((o >> 11) & 1) << 7)
            | 0x63
    }
    pub fn u(imm20: u32, rd: u32, op: u32) -> u32 {
        (imm20 << 12) | (rd << 7) | op
    }
    pub fn jal(rd: u32, off: i32) -> u32 {
        let o = off as u32;
        (((o >> 20) & 1) << 31)
            | (((o >> 1) & 0x3ff) << 21)
            | (((o >> 11) & 1) << 20)
            | (((o >> 12) & 0xff) << 12)
            | (rd << 7)
            | 0x6f
    }
    pub fn jalr(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x67)
    }
    pub fn lui(rd: u32, imm20: u32) -> u32 {
        u(imm20, rd, 0x37)
    }
    pub fn auipc(rd: u32, imm20: u32) -> u32 {
        u(imm20, rd, 0x17)
    }
    pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x13)
    }
    pub fn slti(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 2, rd, 0x13)
    }
    pub fn sltiu(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 3, rd, 0x13)
    }
    pub fn xori(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 4, rd, 0x13)
    }
    pub fn ori(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 6, rd, 0x13)
    }
    pub fn andi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 7, rd, 0x13)
    }
    pub fn slli(rd: u32, rs1: u32, sh: u32) -> u32 {
        i(sh as i32, rs1, 1, rd, 0x13)
    }
    pub fn srli(rd: u32, rs1: u32, sh: u32) -> u32 {
        i(sh as i32, rs1, 5, rd, 0x13)
    }
    pub fn srai(rd: u32, rs1: u32, sh: u32) -> u32 {
        i((0x400 | sh) as i32, rs1, 5, rd, 0x13)
    }
    pub fn addiw(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x1b)
    }
    pub fn slliw(rd: u32, rs1: u32, sh: u32) -> u32 {
        i(sh as i32, rs1, 1, rd, 0x1b)
    }
    pub fn srliw(rd: u32, rs1: u32, sh: u32) -> u32 {
        i(sh as i32, rs1, 5, rd, 0x1b)
    }
    pub fn sraiw(rd: u32, rs1: u32, sh: u32) -> u32 {
        i((0x400 | sh) as i32, rs1, 5, rd, 0x1b)
    }
    /// OP (0x33) and OP-32 (0x3b) register-register instructions by (funct7, funct3).
    pub fn op(f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(f7, rs2, rs1, f3, rd, 0x33)
    }
    pub fn op32(f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(f7, rs2, rs1, f3, rd, 0x3b)
    }
    pub fn load(f3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, f3, rd, 0x03)
    }
    pub fn store(f3: u32, rs2: u32, rs1: u32, imm: i32) -> u32 {
        s(imm, rs2, rs1, f3, 0x23)
    }
    pub fn csr(f3: u32, rd: u32, csr: u32, rs1: u32) -> u32 {
        (csr << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73
    }
    pub fn rocc(funct7: u32, xd: bool, xs1: bool, xs2: bool, rd: u32, rs1: u32, rs2: u32) -> u32 {
        let f3 = ((xd as u32) << 2) | ((xs1 as u32) << 1) | (xs2 as u32);
        r(funct7, rs2, rs1, f3, rd, 0x7b)
    }
    pub const ECALL: u32 = 0x0000_0073;
    pub const EBREAK: u32 = 0x0010_0073;
    pub const MRET: u32 = 0x3020_0073;
    pub const WFI: u32 = 0x1050_0073;
    pub const FENCE: u32 = 0x0ff0_000f;
    pub const FENCE_I: u32 = 0x0000_100f;
    pub const NOP: u32 = 0x0000_0013;
    pub const SEMI_PRE: u32 = 0x01f0_1013;
    pub const SEMI_POST: u32 = 0x4070_5013;
}

use asm::*;

// funct3 of loads/stores and (funct7, funct3) of OP instructions.
const LB: u32 = 0;
const LH: u32 = 1;
const LW: u32 = 2;
const LD: u32 = 3;
const LBU: u32 = 4;
const LHU: u32 = 5;
const LWU: u32 = 6;

// ---- Harness ----

const BASE: u64 = DEFAULT_BASE;
const DATA: u64 = BASE + 0x1000;

fn timing() -> CpuTiming {
    CpuTiming::default()
}

struct M {
    hart: Hart,
    mem: Memory,
    now: u64,
}

impl M {
    fn new(prog: &[u32]) -> M {
        let mut mem = Memory::new(BASE, 1 << 20);
        load_prog(&mut mem, BASE, prog);
        M {
            hart: Hart::new(BASE, timing()),
            mem,
            now: 0,
        }
    }
    fn step(&mut self) -> Step {
        let s = self.hart.step(&mut self.mem, self.now);
        if let Step::Retired { cycles } | Step::Exception { cycles, .. } = s {
            self.now += cycles as u64;
        }
        s
    }
    /// Step `n` instructions that must all retire; returns the total cycles.
    fn run(&mut self, n: usize) -> u64 {
        let mut total = 0;
        for k in 0..n {
            match self.step() {
                Step::Retired { cycles } => total += cycles as u64,
                other => panic!("instruction {k} at pc 0x{:x}: {other:?}", self.hart.pc()),
            }
        }
        total
    }
    fn x(&self, r: u32) -> u64 {
        self.hart.reg(r as usize)
    }
    fn set(&mut self, r: u32, v: u64) {
        self.hart.set_reg(r as usize, v);
    }
    fn trap(&mut self) -> TrapReport {
        match self.step() {
            Step::Trap(r) => *r,
            other => panic!("expected a trap, got {other:?}"),
        }
    }
}

fn load_prog(mem: &mut Memory, at: u64, prog: &[u32]) {
    let bytes: Vec<u8> = prog.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write(at, &bytes).unwrap();
}

/// Run a single instruction with the given a1/a2 inputs; the value it leaves in a0.
fn one(inst: u32, a: u64, b: u64) -> u64 {
    let mut m = M::new(&[inst]);
    m.set(A1, a);
    m.set(A2, b);
    m.run(1);
    m.x(A0)
}

const I64_MIN: u64 = i64::MIN as u64;
const NEG1: u64 = u64::MAX;

// ---- Integer ALU ----

#[test]
fn immediates_and_alu() {
    assert_eq!(one(addi(A0, A1, -1), 5, 0), 4);
    assert_eq!(one(addi(A0, A1, -2048), 0, 0), (-2048i64) as u64);
    assert_eq!(one(addi(A0, A1, 2047), 0, 0), 2047);
    assert_eq!(one(slti(A0, A1, -1), (-5i64) as u64, 0), 1);
    assert_eq!(one(slti(A0, A1, -1), 5, 0), 0);
    // sltiu compares with the sign-extended immediate as unsigned: x < 0xffff...ffff.
    assert_eq!(one(sltiu(A0, A1, -1), 5, 0), 1);
    assert_eq!(one(sltiu(A0, A1, 1), 0, 0), 1);
    assert_eq!(one(xori(A0, A1, -1), 0x0f, 0), !0x0fu64);
    assert_eq!(one(ori(A0, A1, 0x700), 0x0f, 0), 0x70f);
    assert_eq!(one(andi(A0, A1, -16), 0xff, 0), 0xf0);
    assert_eq!(one(op(0, 0, A0, A1, A2), u64::MAX, 2), 1); // add wraps
    assert_eq!(one(op(0x20, 0, A0, A1, A2), 0, 1), NEG1); // sub
    assert_eq!(one(op(0, 2, A0, A1, A2), NEG1, 0), 1); // slt: -1 < 0
    assert_eq!(one(op(0, 3, A0, A1, A2), NEG1, 0), 0); // sltu: max < 0 is false
    assert_eq!(one(op(0, 4, A0, A1, A2), 0b1100, 0b1010), 0b0110); // xor
    assert_eq!(one(op(0, 6, A0, A1, A2), 0b1100, 0b1010), 0b1110); // or
    assert_eq!(one(op(0, 7, A0, A1, A2), 0b1100, 0b1010), 0b1000); // and
}

#[test]
fn lui_auipc_sign_extend() {
    assert_eq!(one(lui(A0, 0x12345), 0, 0), 0x1234_5000);
    assert_eq!(one(lui(A0, 0x80000), 0, 0), 0xffff_ffff_8000_0000);
    assert_eq!(one(lui(A0, 0xfffff), 0, 0), 0xffff_ffff_ffff_f000);
    assert_eq!(one(auipc(A0, 1), 0, 0), BASE + 0x1000);
    // auipc's offset is sign-extended: pc + 0xffff_ffff_8000_0000 wraps to pc - 2^31.
    assert_eq!(
        one(auipc(A0, 0x80000), 0, 0),
        BASE.wrapping_sub(0x8000_0000)
    );
    assert_eq!(one(auipc(A0, 0xfffff), 0, 0), BASE - 0x1000);
}

#[test]
fn shifts_use_63_and_31_masks() {
    let x = 0x8000_0000_0000_0001u64;
    assert_eq!(one(slli(A0, A1, 63), 1, 0), I64_MIN);
    assert_eq!(one(srli(A0, A1, 63), x, 0), 1);
    assert_eq!(one(srai(A0, A1, 63), x, 0), NEG1);
    assert_eq!(one(srai(A0, A1, 1), x, 0), 0xc000_0000_0000_0000);
    // Register shifts use only the low 6 bits of rs2.
    assert_eq!(one(op(0, 1, A0, A1, A2), 1, 64 + 63), I64_MIN); // sll by 127 -> 63
    assert_eq!(one(op(0, 1, A0, A1, A2), 1, 64), 1); // sll by 64 -> 0
    assert_eq!(one(op(0, 5, A0, A1, A2), x, 63), 1); // srl
    assert_eq!(one(op(0x20, 5, A0, A1, A2), x, 127), NEG1); // sra by 127 -> 63
                                                            // W shifts: 5-bit amounts, 32-bit results sign-extended.
    assert_eq!(one(slliw(A0, A1, 31), 1, 0), 0xffff_ffff_8000_0000);
    assert_eq!(one(slliw(A0, A1, 31), 2, 0), 0);
    assert_eq!(one(srliw(A0, A1, 31), 0xffff_ffff, 0), 1);
    assert_eq!(one(srliw(A0, A1, 0), 0x8000_0000, 0), 0xffff_ffff_8000_0000);
    assert_eq!(one(sraiw(A0, A1, 31), 0x8000_0000, 0), NEG1);
    assert_eq!(one(sraiw(A0, A1, 4), 0x1_7000_0000, 0), 0x0700_0000);
    assert_eq!(
        one(op32(0, 1, A0, A1, A2), 1, 32 + 31),
        0xffff_ffff_8000_0000
    ); // sllw by 63 -> 31
    assert_eq!(one(op32(0, 1, A0, A1, A2), 1, 32), 1); // sllw by 32 -> 0
    assert_eq!(one(op32(0, 5, A0, A1, A2), 0xffff_ffff_8000_0000, 31), 1); // srlw
    assert_eq!(
        one(op32(0, 5, A0, A1, A2), 0x8000_0000, 32),
        0xffff_ffff_8000_0000
    ); // srlw by 0
    assert_eq!(one(op32(0x20, 5, A0, A1, A2), 0x8000_0000, 63), NEG1); // sraw by 31
}

#[test]
fn w_forms_sign_extend() {
    assert_eq!(one(addiw(A0, A1, 1), 0x7fff_ffff, 0), 0xffff_ffff_8000_0000);
    assert_eq!(one(addiw(A0, A1, 0), 0x1_ffff_ffff, 0), NEG1); // sext.w
    assert_eq!(one(addiw(A0, A1, -1), 0, 0), NEG1);
    assert_eq!(
        one(op32(0, 0, A0, A1, A2), 0x7fff_ffff, 1),
        0xffff_ffff_8000_0000
    ); // addw
    assert_eq!(one(op32(0, 0, A0, A1, A2), 0xffff_ffff, 1), 0); // addw wraps to 0
    assert_eq!(one(op32(0x20, 0, A0, A1, A2), 0, 1), NEG1); // subw
    assert_eq!(one(op32(0x20, 0, A0, A1, A2), 0x8000_0000, 1), 0x7fff_ffff);
}

// ---- M extension ----

#[test]
fn multiply() {
    let mul = |f3| op(1, f3, A0, A1, A2);
    assert_eq!(one(mul(0), 7, NEG1), (-7i64) as u64);
    assert_eq!(one(mul(0), u64::MAX, u64::MAX), 1);
    assert_eq!(one(mul(1), NEG1, NEG1), 0); // mulh(-1, -1) = 0 (product 1)
    assert_eq!(one(mul(1), I64_MIN, I64_MIN), 0x4000_0000_0000_0000);
    assert_eq!(one(mul(1), I64_MIN, 2), NEG1);
    // mulhsu(-1, 2^64-1) = high half of -(2^64-1) = -1.
    assert_eq!(one(mul(2), NEG1, u64::MAX), NEG1);
    assert_eq!(one(mul(2), 2, u64::MAX), 1);
    assert_eq!(one(mul(3), u64::MAX, u64::MAX), u64::MAX - 1); // mulhu
                                                               // mulw: low 32 bits of the product, sign-extended.
    assert_eq!(
        one(op32(1, 0, A0, A1, A2), 0x10000, 0x8000),
        0xffff_ffff_8000_0000
    );
    assert_eq!(one(op32(1, 0, A0, A1, A2), 0x1_0000_0003, 5), 15);
}

#[test]
fn divide_edge_cases() {
    let d = |f3| op(1, f3, A0, A1, A2);
    let dw = |f3| op32(1, f3, A0, A1, A2);
    // div, divu, rem, remu
    assert_eq!(one(d(4), (-7i64) as u64, 2), (-3i64) as u64); // truncates toward zero
    assert_eq!(one(d(6), (-7i64) as u64, 2), NEG1); // remainder has the dividend's sign
    assert_eq!(one(d(4), 5, 0), NEG1); // division by zero -> -1
    assert_eq!(one(d(5), 5, 0), u64::MAX); // divu by zero -> all ones
    assert_eq!(one(d(6), 5, 0), 5); // rem by zero -> dividend
    assert_eq!(one(d(7), 5, 0), 5); // remu by zero -> dividend
    assert_eq!(one(d(4), I64_MIN, NEG1), I64_MIN); // overflow
    assert_eq!(one(d(6), I64_MIN, NEG1), 0);
    assert_eq!(one(d(5), u64::MAX, 2), u64::MAX / 2);
    assert_eq!(one(d(7), u64::MAX, 10), 5);
    // W forms: 32-bit operands, sign-extended 32-bit results.
    assert_eq!(one(dw(4), 0xffff_fff9, 2), (-3i64) as u64); // divw -7/2
    assert_eq!(one(dw(4), 5, 0), NEG1); // divw by zero
    assert_eq!(one(dw(4), 5, 0x1_0000_0000), NEG1); // divisor's low 32 bits are zero
    assert_eq!(one(dw(4), 0x8000_0000, 0xffff_ffff), 0xffff_ffff_8000_0000); // overflow
    assert_eq!(one(dw(6), 0x8000_0000, 0xffff_ffff), 0); // remw overflow
    assert_eq!(one(dw(6), 0x8000_0005, 0), 0xffff_ffff_8000_0005); // remw by zero, sext
    assert_eq!(one(dw(5), 7, 0), NEG1); // divuw by zero
    assert_eq!(one(dw(5), 0xffff_ffff, 1), NEG1); // divuw result sign-extended
    assert_eq!(one(dw(5), 0xffff_ffff, 2), 0x7fff_ffff);
    assert_eq!(one(dw(7), 0x8000_0000, 0), 0xffff_ffff_8000_0000); // remuw by zero, sext
    assert_eq!(one(dw(7), 0xffff_fffb, 0x10), 0xb);
}

#[test]
fn timing_classes() {
    let t = timing();
    let cycles = |inst: u32| {
        let mut m = M::new(&[inst]);
        m.set(A1, 12);
        m.set(A2, 5);
        m.set(A3, DATA);
        m.run(1)
    };
    assert_eq!(cycles(addi(A0, A1, 1)), t.alu as u64);
    assert_eq!(cycles(op(1, 0, A0, A1, A2)), t.mul as u64);
    assert_eq!(cycles(op32(1, 0, A0, A1, A2)), t.mul as u64);
    assert_eq!(cycles(op(1, 4, A0, A1, A2)), t.div as u64);
    assert_eq!(cycles(op32(1, 7, A0, A1, A2)), t.div as u64);
    assert_eq!(cycles(load(LD, A0, A3, 0)), t.load as u64);
    assert_eq!(cycles(store(LD, A1, A3, 0)), t.store as u64);
    assert_eq!(cycles(jal(ZERO, 8)), t.jump as u64);
    assert_eq!(cycles(csr(2, A0, 0xc00, 0)), t.csr as u64);
    assert_eq!(cycles(b(8, A1, A1, 0)), t.branch_taken as u64);
    assert_eq!(cycles(b(8, A2, A1, 0)), t.branch_not_taken as u64);
}

#[test]
fn x0_is_hardwired() {
    let mut m = M::new(&[addi(ZERO, ZERO, 5), addi(A0, ZERO, 0), jal(ZERO, 4)]);
    m.run(3);
    assert_eq!(m.x(ZERO), 0);
    assert_eq!(m.x(A0), 0);
    assert_eq!(m.hart.instret(), 3);
}

// ---- Loads and stores ----

#[test]
fn loads_sign_and_zero_extend() {
    let mut m = M::new(&[
        store(3, A1, A3, 0), // sd
        load(LB, A0, A3, 7),
        load(LBU, T0, A3, 7),
        load(LH, T1, A3, 6),
        load(LHU, A2, A3, 6),
    ]);
    m.set(A1, 0x8081_8283_8485_8687);
    m.set(A3, DATA);
    m.run(5);
    assert_eq!(m.x(A0), 0xffff_ffff_ffff_ff80);
    assert_eq!(m.x(T0), 0x80);
    assert_eq!(m.x(T1), 0xffff_ffff_ffff_8081);
    assert_eq!(m.x(A2), 0x8081);
    let mut m = M::new(&[
        store(2, A1, A3, 8),  // sw
        store(1, A1, A3, 16), // sh
        store(0, A1, A3, 24), // sb
        load(LW, A0, A3, 8),
        load(LWU, T0, A3, 8),
        load(LD, T1, A3, 8),
        load(LD, A2, A3, 16),
        load(LD, A1, A3, 24),
        load(LD, A3, A3, -8), // negative offset, rd = rs1
    ]);
    m.set(A1, 0x1122_3344_8899_aabb);
    m.set(A3, DATA);
    m.mem
        .write(DATA - 8, &0x0102_0304u64.to_le_bytes())
        .unwrap();
    m.run(9);
    assert_eq!(m.x(A0), 0xffff_ffff_8899_aabb);
    assert_eq!(m.x(T0), 0x8899_aabb);
    assert_eq!(m.x(T1), 0x8899_aabb);
    assert_eq!(m.x(A2), 0xaabb);
    assert_eq!(m.x(A1), 0xbb);
    assert_eq!(m.x(A3), 0x0102_0304);
}

#[test]
fn misaligned_accesses_are_performed_and_out_of_range_ones_fault() {
    // As Spike does for the `p` test environment, misaligned loads and stores are carried out.
    let mut m = M::new(&[
        store(3, A1, A3, 3),
        load(LD, A0, A3, 3),
        load(LW, T0, A3, 5),
        load(LHU, T1, A3, 2),
        store(1, A2, A3, 9),
        load(LH, A2, A3, 9),
    ]);
    m.set(A3, DATA);
    m.set(A1, 0x1122_3344_5566_7788);
    m.set(A2, 0x8001);
    m.run(6);
    assert_eq!(m.x(A0), 0x1122_3344_5566_7788);
    assert_eq!(m.x(T0), 0x3344_5566);
    assert_eq!(m.x(T1), 0x8800);
    assert_eq!(m.x(A2), 0xffff_ffff_ffff_8001);
    // A misaligned access that runs off the end of memory is an access fault.
    let mut m = M::new(&[load(LD, A0, A3, 0)]);
    m.set(A3, BASE + (1 << 20) - 4);
    assert_eq!(m.trap().cause, TrapCause::LoadAccessFault);
    // Byte accesses are never misaligned; outside main memory is an access fault.
    let mut m = M::new(&[load(LBU, A0, A3, 0)]);
    m.set(A3, 0x1000);
    let r = m.trap();
    assert_eq!(r.cause, TrapCause::LoadAccessFault);
    assert_eq!(r.tval, 0x1000);
    let msg = r.to_string();
    assert!(msg.contains("load access fault at pc 0x80000000"), "{msg}");
    assert!(msg.contains("lbu a0, 0(a3)"), "{msg}");
    assert!(msg.contains("outside main memory"), "{msg}");
    let mut m = M::new(&[store(3, A1, A3, 0)]);
    m.set(A3, BASE + (1 << 20));
    assert_eq!(m.trap().cause, TrapCause::StoreAccessFault);
    // A jump out of memory faults on the fetch.
    let mut m = M::new(&[jalr(ZERO, A3, 0)]);
    m.set(A3, 0x2000);
    m.run(1);
    let r = m.trap();
    assert_eq!(r.cause, TrapCause::InstructionAccessFault);
    assert_eq!((r.pc, r.inst), (0x2000, None));
    assert!(r
        .to_string()
        .contains("instruction access fault at pc 0x2000"));
}

// ---- Control flow ----

#[test]
fn branches_both_ways() {
    let t = timing();
    // (funct3, a1, a2, taken)
    let cases = [
        (0, 5, 5, true),
        (0, 5, 6, false),
        (1, 5, 6, true),
        (1, 5, 5, false),
        (4, NEG1, 0, true), // blt signed
        (4, 0, NEG1, false),
        (5, 0, NEG1, true), // bge
        (5, 3, 3, true),
        (5, NEG1, 0, false),
        (6, 0, NEG1, true), // bltu
        (6, NEG1, 0, false),
        (7, NEG1, 0, true), // bgeu
        (7, 0, NEG1, false),
    ];
    for (f3, x, y, taken) in cases {
        let mut m = M::new(&[b(12, A2, A1, f3)]);
        m.set(A1, x);
        m.set(A2, y);
        let c = m.run(1);
        let (pc, cyc) = if taken {
            (BASE + 12, t.branch_taken)
        } else {
            (BASE + 4, t.branch_not_taken)
        };
        assert_eq!(
            (m.hart.pc(), c),
            (pc, cyc as u64),
            "funct3 {f3} {x:x} {y:x}"
        );
    }
    // Backward branch: a countdown loop.
    let mut m = M::new(&[addi(A0, ZERO, 3), addi(A0, A0, -1), b(-4, ZERO, A0, 1)]);
    m.run(1 + 2 * 3);
    assert_eq!((m.x(A0), m.hart.pc()), (0, BASE + 12));
    // With C, a branch to a 2-byte-aligned target is legal: it lands on the compressed `c.li a0, 7`.
    let mut m = M::new(&[b(6, ZERO, ZERO, 0), 0x451d_0000]);
    m.run(2);
    assert_eq!((m.x(A0), m.hart.pc()), (7, BASE + 8));
}

#[test]
fn jumps_link_and_align() {
    let mut m = M::new(&[jal(RA, 8), NOP, jalr(T0, RA, 5)]);
    m.run(1);
    assert_eq!((m.hart.pc(), m.x(RA)), (BASE + 8, BASE + 4));
    m.run(1);
    // jalr clears bit 0 of the target: ra + 5 = BASE + 9 -> BASE + 8.
    assert_eq!((m.hart.pc(), m.x(T0)), (BASE + 8, BASE + 12));
    // jalr with rd = rs1 uses the old value.
    let mut m = M::new(&[jalr(A0, A0, 4)]);
    m.set(A0, BASE + 16);
    m.run(1);
    assert_eq!((m.hart.pc(), m.x(A0)), (BASE + 20, BASE + 4));
    // Negative jal offset.
    let mut m = M::new(&[NOP, NOP, jal(ZERO, -8)]);
    m.run(3);
    assert_eq!(m.hart.pc(), BASE);
    // With C, a jalr to a 2-byte-aligned target is legal.
    // Halfwords at BASE + 4: c.nop, at BASE + 6: c.li a0, 5.
    let mut m = M::new(&[jalr(RA, A0, 2), 0x4515_0001]);
    m.set(A0, BASE + 4);
    m.run(2);
    assert_eq!((m.hart.pc(), m.x(RA), m.x(A0)), (BASE + 8, BASE + 4, 5));
}

// ---- Illegal instructions ----

#[test]
fn illegal_instruction_report() {
    let mut m = M::new(&[addi(A0, ZERO, 7), 0xffff_ffff]);
    m.run(1);
    let r = m.trap();
    assert_eq!(r.cause, TrapCause::IllegalInstruction);
    assert_eq!(
        (r.pc, r.inst, r.tval),
        (BASE + 4, Some(0xffff_ffff), 0xffff_ffff)
    );
    assert_eq!(r.disasm, ".insn 0xffffffff");
    assert_eq!(r.regs[A0 as usize], 7);
    let msg = r.to_string();
    assert!(
        msg.starts_with("illegal instruction at pc 0x80000004: `.insn 0xffffffff` (0xffffffff)"),
        "{msg}"
    );
    assert!(msg.contains("no trap handler"), "{msg}");
    assert!(msg.contains("a0=0x0000000000000007"), "{msg}");
    assert!(msg.contains("registers after 1 instructions"), "{msg}");
    // Reserved encodings are illegal too: the all-zero (compressed) halfword, RV64 slliw with
    // shamt[5], sret, custom-0.
    for w in [
        0x0000_0000,
        slliw(A0, A0, 32),
        asm::r(0x21, A2, A1, 0, A0, 0x3b), // funct7 0x21 in OP-32
        0x1020_0073,                       // sret
        asm::r(0, A2, A1, 0, A0, 0x0b),    // custom-0
        i(0, A1, 2, A0, 0x67),             // jalr funct3 2
        i(0, A1, 7, A0, 0x03),             // load funct3 7
        store(4, A1, A3, 0),
        0x0000_400f, // MISC-MEM funct3 4
    ] {
        let mut m = M::new(&[w]);
        assert_eq!(m.trap().cause, TrapCause::IllegalInstruction, "{w:08x}");
    }
}

// ---- CSRs ----

#[test]
fn csr_read_write_set_clear() {
    const MSCRATCH: u32 = 0x340;
    let mut m = M::new(&[
        csr(1, A0, MSCRATCH, A1),        // csrrw a0, mscratch, a1
        csr(2, T0, MSCRATCH, A2),        // csrrs t0, mscratch, a2
        csr(3, T1, MSCRATCH, A3),        // csrrc t1, mscratch, a3
        csr(2, A0, MSCRATCH, ZERO),      // csrr a0, mscratch
        csr(5, ZERO, MSCRATCH, 0x1f),    // csrrwi zero, mscratch, 31
        csr(6, A1, MSCRATCH, 0x40 >> 2), // csrrsi a1, mscratch, 16
        csr(7, A2, MSCRATCH, 0x3),       // csrrci a2, mscratch, 3
        csr(2, A3, MSCRATCH, ZERO),
    ]);
    m.hart.mscratch = 0x55;
    m.set(A1, 0xf0);
    m.set(A2, 0x0f);
    m.set(A3, 0x3c);
    m.run(4);
    assert_eq!(m.x(A0), 0xc3);
    assert_eq!(m.x(T0), 0xf0);
    assert_eq!(m.x(T1), 0xff);
    m.run(4);
    assert_eq!(m.x(A1), 0x1f);
    assert_eq!(m.x(A2), 0x1f);
    assert_eq!(m.x(A3), 0x1c);
}

#[test]
fn counters_and_machine_csrs() {
    let mut m = M::new(&[
        csr(2, A0, 0xc00, 0), // rdcycle
        csr(2, A1, 0xc02, 0), // rdinstret
        csr(2, A2, 0xc01, 0), // rdtime
        csr(2, A3, 0xf14, 0), // mhartid
        csr(2, T0, 0x301, 0), // misa
        csr(2, T1, 0x304, 0), // mie
        csr(2, SP, 0x344, 0), // mip
        csr(2, RA, 0x302, 0), // medeleg
    ]);
    m.now = 1000;
    m.hart.set_reg(A3 as usize, 99);
    m.run(8);
    assert_eq!(m.x(A0), 1000);
    assert_eq!(m.x(A1), 1);
    assert_eq!(m.x(A2), 1000 + 2 * timing().csr as u64);
    assert_eq!(m.x(A3), 0);
    assert_eq!(m.x(T0), 0x8000_0000_0010_112d); // RV64 ACDFIMU
    assert_eq!((m.x(T1), m.x(SP), m.x(RA)), (0, 0, 0));
    // mcycle and minstret are writable; cycle and instret are read-only.
    let mut m = M::new(&[
        csr(1, ZERO, 0xb00, A1), // csrw mcycle, a1
        csr(1, ZERO, 0xb02, A1), // csrw minstret, a1
        csr(2, A0, 0xc00, 0),
        csr(2, A2, 0xb02, 0),
    ]);
    m.set(A1, 5000);
    m.now = 100;
    m.run(4);
    assert_eq!(m.x(A0), 5000 + 2 * timing().csr as u64);
    assert_eq!(m.x(A2), 5001);
    for w in [
        csr(1, ZERO, 0xc00, A1), // csrw cycle
        csr(6, A0, 0xc02, 1),    // csrrsi a0, instret, 1
        csr(1, ZERO, 0xf14, A1), // csrw mhartid
        csr(2, A0, 0x7c0, 0),    // unknown CSR
        csr(1, ZERO, 0x180, A1), // satp: no S-mode
    ] {
        let mut m = M::new(&[w]);
        let r = m.trap();
        assert_eq!(r.cause, TrapCause::IllegalInstruction, "{w:08x}");
        assert_eq!(r.tval, w as u64);
    }
    let mut m = M::new(&[csr(2, A0, 0x7c0, 0)]);
    let msg = m.trap().to_string();
    assert!(msg.contains("`csrrs a0, 0x7c0, zero`"), "{msg}");
    assert!(msg.contains("CSR 0x7c0 is not implemented"), "{msg}");
}

#[test]
fn trap_handler_and_mret() {
    // 0: la t0, handler; csrw mtvec, t0; csrsi mstatus, MIE; ecall; addi a0, a0, 1; ...
    // handler (at +0x40): csrr t1, mepc; addi t1, t1, 4; csrw mepc, t1; csrr a1, mcause; mret
    let mut prog = vec![
        auipc(T0, 0),
        addi(T0, T0, 0x40),
        csr(1, ZERO, 0x305, T0), // csrw mtvec, t0
        csr(6, ZERO, 0x300, 8),  // csrsi mstatus, MIE
        ECALL,
        addi(A0, A0, 1),
        0xffff_ffff, // illegal: traps too
        addi(A0, A0, 1),
    ];
    prog.resize(16, NOP);
    prog.extend([
        csr(2, T1, 0x341, 0),
        addi(T1, T1, 4),
        csr(1, ZERO, 0x341, T1),
        csr(2, A1, 0x342, 0),
        csr(2, A2, 0x343, 0),
        csr(2, A3, 0x300, 0),
        MRET,
    ]);
    let mut m = M::new(&prog);
    m.run(4);
    let s = m.step();
    assert_eq!(
        s,
        Step::Exception {
            cause: TrapCause::EnvironmentCall,
            cycles: timing().branch_taken
        }
    );
    assert_eq!(m.hart.pc(), BASE + 0x40);
    assert_eq!(m.hart.instret(), 4); // ecall does not retire
    assert_eq!(m.hart.read_csr(0x341, 0), Some(BASE + 16));
    m.run(6);
    // In the handler: MIE cleared, MPIE holds the old MIE, MPP = M (and UXL = 2, read-only).
    assert_eq!((m.x(A1), m.x(A2), m.x(A3)), (11, 0, (2 << 32) | 0x1880));
    m.run(1); // mret
    assert_eq!(m.hart.pc(), BASE + 20);
    // MIE restored, MPIE set, MPP = U (the least-privileged mode, after mret).
    assert_eq!(m.hart.read_csr(0x300, 0), Some((2 << 32) | 0x0088));
    m.run(1);
    assert_eq!(m.x(A0), 1);
    // The illegal instruction: mcause 2, mtval = the instruction word.
    assert!(matches!(
        m.step(),
        Step::Exception {
            cause: TrapCause::IllegalInstruction,
            ..
        }
    ));
    m.run(7);
    assert_eq!((m.x(A1), m.x(A2)), (2, 0xffff_ffff));
    m.run(1);
    assert_eq!(m.x(A0), 2);
}

#[test]
fn ecall_and_ebreak_without_handler_end_the_run() {
    let mut m = M::new(&[addi(17, ZERO, 93), ECALL]);
    m.run(1);
    let r = m.trap();
    assert_eq!(
        (r.cause, r.pc, r.disasm.as_str()),
        (TrapCause::EnvironmentCall, BASE + 4, "ecall")
    );
    assert!(r.to_string().contains("a7 = 93"));
    let mut m = M::new(&[NOP, EBREAK, NOP]);
    m.run(1);
    let r = m.trap();
    assert_eq!((r.cause, r.tval), (TrapCause::Breakpoint, BASE + 4));
    // ebreak at the very start of memory: the word before it is outside memory, still a breakpoint.
    let mut m = M::new(&[EBREAK]);
    assert_eq!(m.trap().cause, TrapCause::Breakpoint);
}

#[test]
fn wfi_fence_i_and_self_modifying_code() {
    // Overwrite the instruction at +12 with `addi a0, zero, 42`, then execute it: the store invalidates
    // the cached decode.
    let mut m = M::new(&[
        jal(ZERO, 12), // warm the cache for +12 first (jump back below)
        store(2, A1, A3, 12),
        jal(ZERO, 8),
        addi(A0, ZERO, 1),
        WFI,
        FENCE_I,
    ]);
    m.set(A1, addi(A0, ZERO, 42) as u64);
    m.set(A3, BASE);
    // Execute +12 once to cache it, then jump back to +4.
    m.mem
        .write(BASE + 16, &jal(ZERO, -12).to_le_bytes())
        .unwrap();
    m.run(3); // jal +12; addi a0,1; jal -12 -> +4
    assert_eq!((m.x(A0), m.hart.pc()), (1, BASE + 4));
    m.run(3); // sw; jal +8 -> +16 ... which is the jal -12 again
    m.mem.write(BASE + 16, &WFI.to_le_bytes()).unwrap();
    m.hart.flush_icache(); // the caller rewrote code behind the hart's back
    m.hart.set_pc(BASE + 12);
    m.run(3); // patched addi, wfi, fence.i
    assert_eq!(m.x(A0), 42);
    assert_eq!(m.hart.pc(), BASE + 24);
}

// ---- RoCC, fence ----

#[test]
fn rocc_commands() {
    let mut m = M::new(&[
        rocc(2, false, true, true, ZERO, A1, A2), // mvin
        rocc(126, true, true, false, A0, A1, A2), // counter read with xd, no xs2
        FENCE,
        addi(A0, A0, 1),
    ]);
    m.set(A1, 0x8000_1000);
    m.set(A2, 0x0010_0010_0000_0004);
    let want = Step::Rocc {
        cmd: RoccCmd {
            funct: 2,
            rs1: 0x8000_1000,
            rs2: 0x0010_0010_0000_0004,
        },
        rd: 0,
        xd: false,
    };
    assert_eq!(m.step(), want);
    assert!(m.hart.is_waiting());
    // Stepping again while the accelerator's queue is full reports the same command, no side effects.
    assert_eq!(m.step(), want);
    assert_eq!((m.hart.pc(), m.hart.instret()), (BASE, 0));
    assert_eq!(m.hart.complete_rocc(None), timing().rocc);
    assert_eq!((m.hart.pc(), m.hart.instret()), (BASE + 4, 1));
    assert!(!m.hart.is_waiting());
    match m.step() {
        Step::Rocc { cmd, rd, xd } => {
            assert_eq!(
                (cmd.funct, cmd.rs1, cmd.rs2, rd, xd),
                (126, 0x8000_1000, 0, 10, true)
            );
        }
        s => panic!("{s:?}"),
    }
    m.hart.complete_rocc(Some(1234));
    assert_eq!(m.x(A0), 1234);
    assert_eq!(m.step(), Step::Fence);
    assert_eq!(m.hart.pc(), BASE + 8);
    assert_eq!(m.hart.complete_fence(), timing().alu);
    m.run(1);
    assert_eq!((m.x(A0), m.hart.instret()), (1235, 4));
}

#[test]
#[should_panic(expected = "no RoCC instruction is pending")]
fn complete_without_pending_panics() {
    let mut m = M::new(&[NOP]);
    m.hart.complete_rocc(None);
}

// ---- Semihosting ----

/// `li a0, op` and the semihosting sequence (the test sets a1).
fn semihost_call(op: u64) -> Vec<u32> {
    vec![addi(A0, ZERO, op as i32), SEMI_PRE, EBREAK, SEMI_POST]
}

fn put_str(mem: &mut Memory, at: u64, s: &[u8]) {
    mem.write(at, s).unwrap();
}

fn put_words(mem: &mut Memory, at: u64, words: &[u64]) {
    let b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write(at, &b).unwrap();
}

/// Step until the hart asks for semihosting, serve it, and return the service's answer.
fn serve(m: &mut M, con: &mut Console) -> HostAction {
    loop {
        match m.step() {
            Step::Retired { .. } => {}
            Step::Semihost { op, arg } => {
                let a = semihost(con, &mut m.mem, op, arg, m.now).unwrap();
                if let HostAction::Return(v) = a {
                    m.hart.complete_semihost(v);
                }
                return a;
            }
            s => panic!("{s:?}"),
        }
    }
}

#[test]
fn semihosting_write0_write_exit() {
    let mut prog = semihost_call(SYS_WRITE0);
    prog.extend(semihost_call(SYS_OPEN));
    prog.extend(semihost_call(SYS_WRITE));
    prog.extend(semihost_call(SYS_WRITE));
    prog.extend(semihost_call(SYS_EXIT));
    let mut m = M::new(&prog);
    let mut con = Console::default();
    put_str(&mut m.mem, DATA, b"hello, world\n\0");
    m.set(A1, DATA);
    assert_eq!(serve(&mut m, &mut con), HostAction::Return(0));
    assert_eq!(con.stdout, b"hello, world\n");
    // After the call the hart continues with the srai (a no-op) and a0 holds the result.
    assert_eq!(m.hart.pc(), BASE + 12);
    assert_eq!(m.hart.instret(), 3);
    // SYS_OPEN(":tt", "w") -> the stdout handle.
    put_str(&mut m.mem, DATA + 0x100, b":tt\0");
    put_words(&mut m.mem, DATA + 0x200, &[DATA + 0x100, 4, 3]);
    m.set(A1, DATA + 0x200);
    assert_eq!(serve(&mut m, &mut con), HostAction::Return(STDOUT_HANDLE));
    // SYS_WRITE(stdout, "abc", 3), then SYS_WRITE(stderr, ...).
    put_str(&mut m.mem, DATA + 0x300, b"abc");
    put_words(&mut m.mem, DATA + 0x400, &[STDOUT_HANDLE, DATA + 0x300, 3]);
    m.set(A1, DATA + 0x400);
    assert_eq!(serve(&mut m, &mut con), HostAction::Return(0));
    put_words(&mut m.mem, DATA + 0x400, &[STDERR_HANDLE, DATA + 0x301, 2]);
    assert_eq!(serve(&mut m, &mut con), HostAction::Return(0));
    assert_eq!(con.stdout, b"hello, world\nabc");
    assert_eq!(con.stderr, b"bc");
    // SYS_EXIT with [ADP_Stopped_ApplicationExit, 3].
    put_words(&mut m.mem, DATA + 0x500, &[ADP_STOPPED_APPLICATION_EXIT, 3]);
    m.set(A1, DATA + 0x500);
    assert_eq!(serve(&mut m, &mut con), HostAction::Exit(3));
    assert!(m.hart.is_waiting());
}

#[test]
fn semihosting_services() {
    let mut mem = Memory::new(BASE, 1 << 20);
    let mut con = Console::new(1_000_000_000);
    let mut call = |mem: &mut Memory, op, arg| semihost(&mut con, mem, op, arg, 2_500_000_000);
    // Open modes: r -> stdin, w -> stdout, a -> stderr; other paths fail.
    put_str(&mut mem, DATA, b":tt");
    put_str(&mut mem, DATA + 16, b"/etc/passwd");
    for (mode, want) in [(0, 0), (1, 0), (4, 1), (5, 1), (8, 2), (11, 2)] {
        put_words(&mut mem, DATA + 64, &[DATA, mode, 3]);
        assert_eq!(
            call(&mut mem, SYS_OPEN, DATA + 64),
            Ok(HostAction::Return(want))
        );
    }
    put_words(&mut mem, DATA + 64, &[DATA + 16, 0, 11]);
    assert_eq!(
        call(&mut mem, SYS_OPEN, DATA + 64),
        Ok(HostAction::Return(NEG1))
    );
    assert_eq!(call(&mut mem, SYS_ERRNO, 0), Ok(HostAction::Return(2)));
    // writec, istty, seek, flen, read (EOF), clock, time.
    put_str(&mut mem, DATA + 128, b"Z");
    assert_eq!(
        call(&mut mem, SYS_WRITEC, DATA + 128),
        Ok(HostAction::Return(0))
    );
    put_words(&mut mem, DATA + 64, &[1, DATA, 16]);
    assert_eq!(
        call(&mut mem, SYS_ISTTY, DATA + 64),
        Ok(HostAction::Return(1))
    );
    assert_eq!(
        call(&mut mem, SYS_SEEK, DATA + 64),
        Ok(HostAction::Return(NEG1))
    );
    assert_eq!(
        call(&mut mem, SYS_FLEN, DATA + 64),
        Ok(HostAction::Return(0))
    );
    put_words(&mut mem, DATA + 64, &[STDIN_HANDLE, DATA, 16]);
    assert_eq!(
        call(&mut mem, SYS_READ, DATA + 64),
        Ok(HostAction::Return(16))
    );
    assert_eq!(call(&mut mem, SYS_CLOCK, 0), Ok(HostAction::Return(250)));
    assert_eq!(call(&mut mem, SYS_TIME, 0), Ok(HostAction::Return(2)));
    assert_eq!(
        call(&mut mem, SYS_TICKFREQ, 0),
        Ok(HostAction::Return(1_000_000))
    );
    // 2.5e9 cycles at 1 GHz = 2.5e6 microsecond ticks.
    assert_eq!(
        call(&mut mem, SYS_ELAPSED, DATA + 64),
        Ok(HostAction::Return(0))
    );
    let mut b8 = [0u8; 8];
    mem.read(DATA + 64, &mut b8).unwrap();
    assert_eq!(u64::from_le_bytes(b8), 2_500_000);
    // The feature list picolibc reads before exiting: "SHFB", EXIT_EXTENDED | STDOUT_STDERR.
    put_str(&mut mem, DATA + 16, b":semihosting-features");
    put_words(&mut mem, DATA + 64, &[DATA + 16, 0, 21]);
    assert_eq!(
        call(&mut mem, SYS_OPEN, DATA + 64),
        Ok(HostAction::Return(FEATURES_HANDLE))
    );
    put_words(&mut mem, DATA + 64, &[FEATURES_HANDLE, DATA + 512, 4]);
    assert_eq!(
        call(&mut mem, SYS_FLEN, DATA + 64),
        Ok(HostAction::Return(5))
    );
    assert_eq!(
        call(&mut mem, SYS_ISTTY, DATA + 64),
        Ok(HostAction::Return(0))
    );
    assert_eq!(
        call(&mut mem, SYS_READ, DATA + 64),
        Ok(HostAction::Return(0))
    );
    put_words(&mut mem, DATA + 64, &[FEATURES_HANDLE, DATA + 516, 4]);
    assert_eq!(
        call(&mut mem, SYS_READ, DATA + 64),
        Ok(HostAction::Return(3))
    );
    let mut f = [0u8; 5];
    mem.read(DATA + 512, &mut f).unwrap();
    assert_eq!(&f, b"SHFB\x03");
    assert_eq!(
        call(&mut mem, SYS_CLOSE, DATA + 64),
        Ok(HostAction::Return(0))
    );
    // heapinfo (picolibc passes the zeroed block itself), get_cmdline.
    put_words(&mut mem, DATA + 64, &[0, 7, 7, 7]);
    assert_eq!(
        call(&mut mem, SYS_HEAPINFO, DATA + 64),
        Ok(HostAction::Return(0))
    );
    let mut b = [0u8; 32];
    mem.read(DATA + 64, &mut b).unwrap();
    assert_eq!(b, [0; 32]);
    put_words(&mut mem, DATA + 64, &[DATA + 256, 80]);
    put_str(&mut mem, DATA + 256, b"xyz");
    assert_eq!(
        call(&mut mem, SYS_GET_CMDLINE, DATA + 64),
        Ok(HostAction::Return(0))
    );
    assert_eq!(mem.read_u8(DATA + 256), Ok(0));
    // Exits: extended, abnormal reason, 32-bit style bare reason.
    put_words(&mut mem, DATA + 64, &[ADP_STOPPED_APPLICATION_EXIT, NEG1]);
    assert_eq!(
        call(&mut mem, SYS_EXIT_EXTENDED, DATA + 64),
        Ok(HostAction::Exit(-1))
    );
    put_words(&mut mem, DATA + 64, &[0x20023, 0]);
    assert_eq!(call(&mut mem, SYS_EXIT, DATA + 64), Ok(HostAction::Exit(1)));
    assert_eq!(
        call(&mut mem, SYS_EXIT, ADP_STOPPED_APPLICATION_EXIT),
        Ok(HostAction::Exit(0))
    );
    // Errors: unknown operation, a buffer outside memory.
    assert_eq!(
        call(&mut mem, 0x99, 0),
        Err(HostError::UnknownSemihostOp { op: 0x99 })
    );
    put_words(&mut mem, DATA + 64, &[STDOUT_HANDLE, 0x10, 4]);
    let e = call(&mut mem, SYS_WRITE, DATA + 64).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("semihosting SYS_WRITE: memory access of 4 bytes at 0x10"));
    assert_eq!(con.stdout, b"Z");
}

#[test]
fn console_capture_limit() {
    let mut mem = Memory::new(BASE, 1 << 16);
    let mut con = Console {
        limit: 4,
        ..Console::default()
    };
    put_str(&mut mem, BASE, b"abcdef\0");
    semihost(&mut con, &mut mem, SYS_WRITE0, BASE, 0).unwrap();
    assert_eq!((con.stdout.as_slice(), con.truncated), (&b"abcd"[..], true));
    assert_eq!((con.stdout_dropped, con.stderr_dropped), (2, 0));
    // A string running to the very end of memory without a NUL is an error, not a hang.
    put_str(&mut mem, BASE + (1 << 16) - 3, b"xyz");
    assert!(semihost(&mut con, &mut mem, SYS_WRITE0, BASE + (1 << 16) - 3, 0).is_err());
}

// ---- HTIF ----

#[test]
fn htif_exit_and_write() {
    let tohost = DATA + 0x800;
    let mut m = M::new(&[
        store(3, A1, A3, 0),   // sd a1, 0(a3): syscall pointer
        store(3, ZERO, A3, 0), // clearing tohost is not a request
        store(3, A2, A3, 0),   // exit
        store(3, A2, A3, 8),   // fromhost: not tohost
    ]);
    m.hart.set_tohost(Some(tohost));
    m.set(A3, tohost);
    let magic = DATA + 0x40;
    m.set(A1, magic);
    m.set(A2, (7 << 1) | 1);
    put_str(&mut m.mem, DATA, b"hi there");
    put_words(&mut m.mem, magic, &[HTIF_SYS_WRITE, 1, DATA, 8]);
    let mut con = Console::default();
    let s = m.step();
    assert_eq!(
        s,
        Step::Htif {
            value: magic,
            cycles: timing().store
        }
    );
    assert_eq!((m.hart.pc(), m.hart.instret()), (BASE + 4, 1));
    assert_eq!(
        htif_write(&mut con, &mut m.mem, magic),
        Ok(HtifAction::Reply(1))
    );
    assert_eq!(con.stdout, b"hi there");
    let mut b = [0u8; 8];
    m.mem.read(magic, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b), 8);
    m.run(1);
    let Step::Htif { value, .. } = m.step() else {
        panic!()
    };
    assert_eq!(
        htif_write(&mut con, &mut m.mem, value),
        Ok(HtifAction::Exit(7))
    );
    m.run(1);
    // Negative exit codes and the proxy-kernel exit call.
    assert_eq!(
        htif_write(&mut con, &mut m.mem, NEG1),
        Ok(HtifAction::Exit(-1))
    );
    put_words(&mut m.mem, magic, &[HTIF_SYS_EXIT, 5, 0, 0]);
    assert_eq!(
        htif_write(&mut con, &mut m.mem, magic),
        Ok(HtifAction::Exit(5))
    );
    // The console device writes a byte even when its LSB is 1.
    assert_eq!(
        htif_write(&mut con, &mut m.mem, 0x0101_0000_0000_0061),
        Ok(HtifAction::Done)
    );
    assert_eq!(con.stdout, b"hi therea");
    put_words(&mut m.mem, magic, &[1234, 0, 0, 0]);
    assert_eq!(
        htif_write(&mut con, &mut m.mem, magic),
        Err(HostError::UnknownHtifSyscall { which: 1234 })
    );
}

// ---- Disassembler ----

#[test]
fn disassembly() {
    let pc = BASE;
    let cases: Vec<(u32, &str)> = vec![
        (addi(A0, A0, 1), "addi a0, a0, 1"),
        (addi(SP, SP, -32), "addi sp, sp, -32"),
        (lui(A0, 0x80000), "lui a0, 0x80000"),
        (auipc(T0, 0x1), "auipc t0, 0x1"),
        (jal(RA, 16), "jal ra, 0x80000010"),
        (jal(ZERO, -4), "jal zero, 0x7ffffffc"),
        (jalr(ZERO, RA, 0), "jalr zero, 0(ra)"),
        (b(-8, A1, A0, 1), "bne a0, a1, 0x7ffffff8"),
        (b(8, ZERO, A0, 6), "bltu a0, zero, 0x80000008"),
        (load(LD, RA, SP, 8), "ld ra, 8(sp)"),
        (load(LBU, A0, A1, -1), "lbu a0, -1(a1)"),
        (store(3, RA, SP, 24), "sd ra, 24(sp)"),
        (store(0, A2, A3, -3), "sb a2, -3(a3)"),
        (slli(A0, A0, 63), "slli a0, a0, 63"),
        (srai(A0, A1, 7), "srai a0, a1, 7"),
        (sraiw(A0, A1, 31), "sraiw a0, a1, 31"),
        (addiw(A0, A1, -1), "addiw a0, a1, -1"),
        (op(1, 5, A0, A1, A2), "divu a0, a1, a2"),
        (op(0x20, 0, T0, T1, A0), "sub t0, t1, a0"),
        (op32(1, 6, A0, A1, A2), "remw a0, a1, a2"),
        (op32(0x20, 5, A0, A1, A2), "sraw a0, a1, a2"),
        (op(1, 2, 31, 30, 29), "mulhsu t6, t5, t4"),
        (csr(2, A0, 0xc00, 0), "csrrs a0, cycle, zero"),
        (csr(1, ZERO, 0x305, T0), "csrrw zero, mtvec, t0"),
        (csr(7, A0, 0x300, 8), "csrrci a0, mstatus, 8"),
        (csr(2, A0, 0x7c0, 0), "csrrs a0, 0x7c0, zero"),
        (FENCE, "fence"),
        (0x0330_000f, "fence rw, rw"),
        (FENCE_I, "fence.i"),
        (ECALL, "ecall"),
        (EBREAK, "ebreak"),
        (MRET, "mret"),
        (WFI, "wfi"),
        (SEMI_PRE, "slli zero, zero, 31"),
        (SEMI_POST, "srai zero, zero, 7"),
        (
            rocc(2, false, true, true, ZERO, A0, A1),
            ".insn r CUSTOM_3, 3, 2, zero, a0, a1  # rocc mvin",
        ),
        (0xffff_ffff, ".insn 0xffffffff"),
        (0x0000_4501, "addi a0, zero, 0"), // c.li a0, 0
        (0x0000_0000, ".insn 0x0000"),
    ];
    for (w, want) in cases {
        assert_eq!(disassemble(w, pc), want, "word 0x{w:08x}");
    }
}

/// Every word decodes without panicking, and the disassembler agrees with the decoder about legality.
#[test]
fn decoder_total_on_sampled_words() {
    let mut x: u32 = 0x1234_5678;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let illegal = decode::decode_parcel(x).op == decode::Op::Illegal;
        assert_eq!(
            disassemble(x, BASE).starts_with(".insn 0x"),
            illegal,
            "{x:08x}"
        );
    }
}

#[test]
fn encoders_match_gnu_as() {
    // Spot checks of the test encoders against words produced by riscv64-unknown-elf-as.
    assert_eq!(addi(A0, A0, 1), 0x0015_0513);
    assert_eq!(load(LD, RA, SP, 8), 0x0081_3083);
    assert_eq!(store(3, RA, SP, 24), 0x0011_3c23);
    assert_eq!(jal(RA, 16), 0x0100_00ef);
    assert_eq!(b(-8, A1, A0, 1), 0xfeb5_1ce3);
    assert_eq!(lui(A0, 0x80000), 0x8000_0537);
    assert_eq!(op32(1, 6, A0, A1, A2), 0x02c5_e53b);
    assert_eq!(csr(2, A0, 0xc00, 0), 0xc000_2573);
}

/// Hart speed on a loop of ALU, load, store and branch instructions (`cargo test --release -- --ignored
/// hart_speed --nocapture`).
#[test]
#[ignore]
fn hart_speed() {
    // a0 = n; loop: ld t0, 0(a3); add t0, t0, a0; sd t0, 0(a3); mul t1, t0, a0; addi a3, a3, 8;
    //               andi a3, a3, 0x7f8 (wrapped by or-ing the base back); addi a0, a0, -1; bnez a0, loop
    let prog = [
        load(LD, T0, A3, 0),
        op(0, 0, T0, T0, A0),
        store(3, T0, A3, 0),
        op(1, 0, T1, T0, A0),
        addi(A1, A1, 8),
        andi(A1, A1, 0x7f8),
        op(0, 6, A3, A2, A1),
        addi(A0, A0, -1),
        b(-32, ZERO, A0, 1),
        jal(ZERO, 0),
    ];
    let mut m = M::new(&prog);
    let n = 5_000_000u64;
    m.set(A0, n);
    m.set(A2, DATA);
    m.set(A3, DATA);
    let t = std::time::Instant::now();
    let mut steps = 0u64;
    while m.hart.pc() != BASE + 36 {
        match m.hart.step(&mut m.mem, m.now) {
            Step::Retired { cycles } => m.now += cycles as u64,
            s => panic!("{s:?}"),
        }
        steps += 1;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{steps} instructions in {s:.3} s: {:.1} M instructions/s",
        steps as f64 / s / 1e6
    );
    assert_eq!(steps, 9 * n);
}

// ---- Privilege: U-mode, PMP, counters (priv.rs) ----

/// A machine whose M code at BASE is `mret` into U-mode code at BASE + 0x100 (`user`), with PMP: code
/// [BASE, BASE + 0x1000) R/X, DATA [DATA, DATA + 0x100) R, [DATA + 0x100, DATA + 0x200) R/W, nothing else;
/// mtvec = BASE + 0x800; t0 = DATA.
fn user_machine(user: &[u32], mcounteren: u64) -> M {
    let mut prog = vec![MRET];
    prog.resize(0x40, NOP);
    prog.extend_from_slice(user);
    let mut m = M::new(&prog);
    let h = &mut m.hart;
    assert!(h.write_csr(0x3b0, BASE >> 2, 0));
    assert!(h.write_csr(0x3b1, (BASE + 0x1000) >> 2, 0));
    assert!(h.write_csr(0x3b2, (DATA + 0x100) >> 2, 0));
    assert!(h.write_csr(0x3b3, (DATA + 0x200) >> 2, 0));
    let cfg = u64::from(PMP_TOR | PMP_R | PMP_X) << 8
        | u64::from(PMP_TOR | PMP_R) << 16
        | u64::from(PMP_TOR | PMP_R | PMP_W) << 24;
    assert!(h.write_csr(0x3a0, cfg, 0));
    assert!(h.write_csr(0x306, mcounteren, 0));
    assert!(h.write_csr(0x305, BASE + 0x800, 0));
    assert!(h.write_csr(0x341, BASE + 0x100, 0));
    assert!(h.write_csr(0x300, 0, 0)); // MPP = U
    m.set(T0, DATA);
    m.run(1); // mret
    assert_eq!(m.hart.mode(), Mode::User);
    assert_eq!(m.hart.pc(), BASE + 0x100);
    m
}

#[test]
fn mret_enters_user_mode_and_traps_return_to_machine_mode() {
    let mut m = user_machine(&[load(3, A0, T0, 0), ECALL], 0);
    m.run(1); // a load of read-only data is allowed
    let s = m.step();
    assert_eq!(
        s,
        Step::Exception {
            cause: TrapCause::EnvironmentCallFromU,
            cycles: timing().branch_taken
        }
    );
    assert_eq!(m.hart.mode(), Mode::Machine);
    assert_eq!(m.hart.read_csr(0x342, 0), Some(8));
    assert_eq!(m.hart.read_csr(0x300, 0).unwrap() & 0x1800, 0); // MPP = U: the trap came from U
    assert_eq!(m.hart.pc(), BASE + 0x800);
}

#[test]
fn pmp_denies_user_accesses_outside_its_regions() {
    // A store to read-only data, supervised: the run ends with the report.
    let mut m = user_machine(&[store(3, A0, T0, 0x100), store(3, A0, T0, 0)], 0);
    m.hart.set_supervised(true);
    m.run(1); // the read/write region
    let r = m.trap();
    assert_eq!((r.cause, r.tval), (TrapCause::StoreAccessFault, DATA));
    assert!(
        r.detail.contains("PMP entry 2") && r.detail.contains("grants R-- only"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("U-mode"), "{}", r.detail);
    // A load no entry matches.
    let mut m = user_machine(&[load(3, A0, T0, 0x200)], 0);
    m.hart.set_supervised(true);
    let r = m.trap();
    assert_eq!(
        (r.cause, r.tval),
        (TrapCause::LoadAccessFault, DATA + 0x200)
    );
    assert!(r.detail.contains("no PMP entry"), "{}", r.detail);
    // Executing data: an instruction access fault at the jump target.
    let mut m = user_machine(&[jalr(ZERO, T0, 0)], 0);
    m.hart.set_supervised(true);
    m.run(1);
    let r = m.trap();
    assert_eq!((r.cause, r.pc), (TrapCause::InstructionAccessFault, DATA));
    // Without supervision the same fault enters the handler in M-mode.
    let mut m = user_machine(&[store(3, A0, T0, 0)], 0);
    assert!(matches!(
        m.step(),
        Step::Exception {
            cause: TrapCause::StoreAccessFault,
            ..
        }
    ));
    assert_eq!(m.hart.mode(), Mode::Machine);
    assert_eq!(m.hart.read_csr(0x343, 0), Some(DATA));
}

#[test]
fn user_mode_reads_enabled_counters_and_writes_none() {
    let mut m = user_machine(&[csr(2, A0, 0xc00, 0), csr(2, A1, 0xc02, 0)], 0b001);
    m.hart.set_supervised(true);
    m.run(1); // rdcycle: enabled
    let r = m.trap(); // rdinstret: mcounteren bit 2 clear
    assert_eq!(r.cause, TrapCause::IllegalInstruction);
    assert!(r.detail.contains("mcounteren bit 2"), "{}", r.detail);
    for (inst, what) in [
        (csr(1, ZERO, 0xb00, A0), "mcycle"),
        (csr(1, ZERO, 0xb02, A0), "minstret"),
        (csr(1, ZERO, 0x320, A0), "mcountinhibit"),
        (csr(1, ZERO, 0x305, A0), "mtvec"),
        (csr(1, ZERO, 0x3a0, A0), "pmpcfg0"),
        (csr(2, A0, 0x300, 0), "mstatus (read)"),
        (csr(1, ZERO, 0xc00, A0), "cycle (write)"),
    ] {
        let mut m = user_machine(&[inst], 0b111);
        m.hart.set_supervised(true);
        let r = m.trap();
        assert_eq!(r.cause, TrapCause::IllegalInstruction, "{what}");
    }
    // mret in U-mode is illegal; the semihosting sequence is a plain breakpoint.
    let mut m = user_machine(&[MRET], 0);
    m.hart.set_supervised(true);
    assert_eq!(m.trap().cause, TrapCause::IllegalInstruction);
    let mut m = user_machine(&[slli(ZERO, ZERO, 0x1f), EBREAK, srai(ZERO, ZERO, 7)], 0);
    m.hart.set_supervised(true);
    m.run(1);
    assert_eq!(m.trap().cause, TrapCause::Breakpoint);
}

#[test]
fn user_mode_does_not_reuse_machine_mode_fetches() {
    // The code at DATA runs in M-mode first (and is cached), then in U-mode, where PMP gives it no X.
    let mut m = user_machine(&[NOP], 0);
    m.hart.set_supervised(true);
    load_prog(&mut m.mem, DATA, &[NOP, NOP]);
    m.hart.pv.set_mode(Mode::Machine);
    m.hart.set_pc(DATA);
    m.run(1);
    m.hart.pv.set_mode(Mode::User);
    m.hart.set_pc(DATA);
    assert_eq!(m.trap().cause, TrapCause::InstructionAccessFault);
}

#[test]
fn pmp_matching_modes_priority_and_locks() {
    let mut h = Hart::new(BASE, timing());
    // NAPOT of 64 bytes at DATA, R/W; NA4 at DATA + 0x100, R; TOR from there (entry 1's address) up to
    // DATA + 0x1000, X.
    assert!(h.write_csr(0x3b0, (DATA >> 2) | 0b111, 0));
    assert!(h.write_csr(0x3b1, (DATA + 0x100) >> 2, 0));
    assert!(h.write_csr(0x3b2, (DATA + 0x1000) >> 2, 0));
    let cfg = u64::from(PMP_NAPOT | PMP_R | PMP_W)
        | u64::from(PMP_NA4 | PMP_R) << 8
        | u64::from(PMP_TOR | PMP_X) << 16;
    assert!(h.write_csr(0x3a0, cfg, 0));
    h.pv.set_mode(Mode::User);
    let ok = |h: &Hart, a: u64, n: u64, acc| h.pv.check(a, n, acc).is_ok();
    use privilege::Access::*;
    assert!(ok(&h, DATA, 8, Store) && ok(&h, DATA + 56, 8, Load));
    assert!(!ok(&h, DATA + 64, 4, Load) && !ok(&h, DATA + 64, 4, Fetch)); // past NAPOT: no entry
    assert!(ok(&h, DATA + 0x200, 4, Fetch) && !ok(&h, DATA + 0x200, 4, Load));
    // An access only partly inside the matching entry fails.
    let e = h.pv.check(DATA + 0x100, 8, Load).unwrap_err();
    assert!(e.contains("only part"), "{e}");
    assert!(ok(&h, DATA + 0x100, 4, Load) && !ok(&h, DATA + 0x100, 4, Store));
    // Priority: DATA+0x100 is also inside the TOR range, but NA4 (entry 1) decides: no X.
    assert!(!ok(&h, DATA + 0x100, 4, Fetch));
    assert!(!ok(&h, DATA + 0x1000, 4, Fetch));
    // M-mode ignores unlocked entries; a locked one binds M-mode too and cannot be rewritten.
    h.pv.set_mode(Mode::Machine);
    assert!(ok(&h, DATA + 0x100, 4, Store));
    assert!(!h.pv.pmp_on);
    assert!(h.write_csr(0x3a0, cfg | u64::from(PMP_L) << 8, 0));
    assert!(h.pv.pmp_on);
    assert!(!ok(&h, DATA + 0x100, 4, Store));
    assert!(h.write_csr(0x3a0, 0, 0));
    assert!(h.write_csr(0x3b1, 0, 0));
    assert_eq!(h.read_csr(0x3b1, 0), Some((DATA + 0x100) >> 2));
    assert_eq!(
        (h.read_csr(0x3a0, 0).unwrap() >> 8) as u8,
        PMP_NA4 | PMP_R | PMP_L
    );
    // W without R is reserved: W reads back clear.
    assert!(h.write_csr(0x3a2, u64::from(PMP_TOR | PMP_W), 0));
    assert_eq!(h.read_csr(0x3a2, 0), Some(u64::from(PMP_TOR)));
    // MPP is WARL: S (1) becomes U. UXL (bits 33:32) reads 2: U-mode is 64-bit.
    assert!(h.write_csr(0x300, 1 << 11, 0));
    assert_eq!(h.read_csr(0x300, 0), Some(2 << 32));
}
