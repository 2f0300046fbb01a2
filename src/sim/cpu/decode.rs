//! Instruction decoding: one 32-bit word, or one 16-bit compressed word (expanded by [`super::rvc`] into
//! the 32-bit instruction it stands for), into a compact [`Inst`] (operation, register numbers, one
//! immediate and the instruction's length). The hart caches decoded instructions, and the disassembler
//! prints them, so there is exactly one decoder.

/// Every operation the hart implements, plus `Illegal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    Illegal,
    // RV64I
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // MISC-MEM and SYSTEM
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    Mret,
    Wfi,
    // Zicsr: `imm` is the CSR number; for the immediate forms `rs1` is the 5-bit zero-extended immediate.
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    /// custom-3: `imm` = funct7 | xs2 << 8 | xs1 << 9 | xd << 10 (that is, funct3 << 8).
    Rocc,
    // A: LR/SC and the AMOs, word (`W`) or doubleword (`D`); for the AMOs `imm` is funct5 (the aq/rl
    // bits are dropped: with one hart every access is already sequentially consistent).
    LrW,
    ScW,
    AmoW,
    LrD,
    ScD,
    AmoD,
    // F and D. Loads and stores carry their offset in `imm`. Every other FP operation carries
    // `imm` = rm | rs3 << 3 | double << 8 (rm: the 3-bit rounding-mode field; double: the D format).
    Flw,
    Fld,
    Fsw,
    Fsd,
    Fmadd,
    Fmsub,
    Fnmsub,
    Fnmadd,
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
    Fsqrt,
    Fsgnj,
    Fsgnjn,
    Fsgnjx,
    Fmin,
    Fmax,
    /// Float to integer: `rs2` selects W (0), WU (1), L (2), LU (3).
    FcvtIntF,
    /// Integer to float: `rs2` selects W (0), WU (1), L (2), LU (3).
    FcvtFInt,
    /// fcvt.s.d (double = 0: the result is single) and fcvt.d.s (double = 1).
    FcvtFF,
    /// fmv.x.w / fmv.x.d.
    FmvXF,
    /// fmv.w.x / fmv.d.x.
    FmvFX,
    Fclass,
    Feq,
    Flt,
    Fle,
}

/// A decoded instruction. Shift instructions carry the shift amount in `imm`; fences carry the raw
/// pred/succ field (bits 27:20) in `imm`. `len` is the instruction's size in bytes: 4, or 2 for a
/// compressed instruction (the next pc, and the link address of a jump, is `pc + len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inst {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub len: u8,
    pub imm: i32,
}

pub(crate) const ILLEGAL: Inst = Inst {
    op: Op::Illegal,
    rd: 0,
    rs1: 0,
    rs2: 0,
    len: 4,
    imm: 0,
};

/// Decode the instruction at the start of `word` (the 32 bits at its address, little-endian): when its
/// low two bits are not 11 it is a 16-bit compressed instruction (the upper halfword is ignored), which
/// is expanded first and gets `len` 2.
pub(crate) fn decode_parcel(word: u32) -> Inst {
    if word & 3 != 3 {
        match super::rvc::expand(word as u16) {
            Some(w) => Inst {
                len: 2,
                ..decode(w)
            },
            None => Inst { len: 2, ..ILLEGAL },
        }
    } else {
        decode(word)
    }
}

/// The exact words of the semihosting sequence around `ebreak`.
pub(crate) const SEMIHOST_PRE: u32 = 0x01f0_1013; // slli x0, x0, 0x1f
pub(crate) const EBREAK: u32 = 0x0010_0073;
pub(crate) const SEMIHOST_POST: u32 = 0x4070_5013; // srai x0, x0, 7

#[inline]
fn i_imm(w: u32) -> i32 {
    (w as i32) >> 20
}

#[inline]
fn s_imm(w: u32) -> i32 {
    ((w as i32) >> 25 << 5) | ((w >> 7) & 0x1f) as i32
}

#[inline]
fn b_imm(w: u32) -> i32 {
    ((w as i32) >> 31 << 12)
        | (((w >> 7) & 1) << 11) as i32
        | (((w >> 25) & 0x3f) << 5) as i32
        | (((w >> 8) & 0xf) << 1) as i32
}

#[inline]
fn u_imm(w: u32) -> i32 {
    (w & 0xffff_f000) as i32
}

#[inline]
fn j_imm(w: u32) -> i32 {
    ((w as i32) >> 31 << 20)
        | (w & 0x000f_f000) as i32
        | (((w >> 20) & 1) << 11) as i32
        | (((w >> 21) & 0x3ff) << 1) as i32
}

/// Decode one 32-bit instruction word. Anything the hart does not implement (including reserved shift
/// and rounding-mode encodings) decodes to `Op::Illegal`; 16-bit words go through [`decode_parcel`].
pub(crate) fn decode(w: u32) -> Inst {
    let rd = ((w >> 7) & 31) as u8;
    let rs1 = ((w >> 15) & 31) as u8;
    let rs2 = ((w >> 20) & 31) as u8;
    let f3 = (w >> 12) & 7;
    let f7 = w >> 25;
    let mk = |op: Op, imm: i32| Inst {
        op,
        rd,
        rs1,
        rs2,
        len: 4,
        imm,
    };
    match w & 0x7f {
        0x37 => mk(Op::Lui, u_imm(w)),
        0x17 => mk(Op::Auipc, u_imm(w)),
        0x6f => mk(Op::Jal, j_imm(w)),
        0x67 if f3 == 0 => mk(Op::Jalr, i_imm(w)),
        0x63 => {
            let op = match f3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return ILLEGAL,
            };
            mk(op, b_imm(w))
        }
        0x03 => {
            let op = match f3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                3 => Op::Ld,
                4 => Op::Lbu,
                5 => Op::Lhu,
                6 => Op::Lwu,
                _ => return ILLEGAL,
            };
            mk(op, i_imm(w))
        }
        0x23 => {
            let op = match f3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                3 => Op::Sd,
                _ => return ILLEGAL,
            };
            mk(op, s_imm(w))
        }
        0x13 => {
            let shamt = ((w >> 20) & 63) as i32;
            let f6 = w >> 26;
            match f3 {
                0 => mk(Op::Addi, i_imm(w)),
                2 => mk(Op::Slti, i_imm(w)),
                3 => mk(Op::Sltiu, i_imm(w)),
                4 => mk(Op::Xori, i_imm(w)),
                6 => mk(Op::Ori, i_imm(w)),
                7 => mk(Op::Andi, i_imm(w)),
                1 if f6 == 0 => mk(Op::Slli, shamt),
                5 if f6 == 0 => mk(Op::Srli, shamt),
                5 if f6 == 0x10 => mk(Op::Srai, shamt),
                _ => ILLEGAL,
            }
        }
        0x1b => {
            let shamt = ((w >> 20) & 31) as i32;
            match (f3, f7) {
                (0, _) => mk(Op::Addiw, i_imm(w)),
                (1, 0) => mk(Op::Slliw, shamt),
                (5, 0) => mk(Op::Srliw, shamt),
                (5, 0x20) => mk(Op::Sraiw, shamt),
                _ => ILLEGAL,
            }
        }
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Op::Add,
                (0x20, 0) => Op::Sub,
                (0, 1) => Op::Sll,
                (0, 2) => Op::Slt,
                (0, 3) => Op::Sltu,
                (0, 4) => Op::Xor,
                (0, 5) => Op::Srl,
                (0x20, 5) => Op::Sra,
                (0, 6) => Op::Or,
                (0, 7) => Op::And,
                (1, 0) => Op::Mul,
                (1, 1) => Op::Mulh,
                (1, 2) => Op::Mulhsu,
                (1, 3) => Op::Mulhu,
                (1, 4) => Op::Div,
                (1, 5) => Op::Divu,
                (1, 6) => Op::Rem,
                (1, 7) => Op::Remu,
                _ => return ILLEGAL,
            };
            mk(op, 0)
        }
        0x3b => {
            let op = match (f7, f3) {
                (0, 0) => Op::Addw,
                (0x20, 0) => Op::Subw,
                (0, 1) => Op::Sllw,
                (0, 5) => Op::Srlw,
                (0x20, 5) => Op::Sraw,
                (1, 0) => Op::Mulw,
                (1, 4) => Op::Divw,
                (1, 5) => Op::Divuw,
                (1, 6) => Op::Remw,
                (1, 7) => Op::Remuw,
                _ => return ILLEGAL,
            };
            mk(op, 0)
        }
        0x0f => match f3 {
            0 => mk(Op::Fence, ((w >> 20) & 0xff) as i32),
            1 => mk(Op::FenceI, 0),
            _ => ILLEGAL,
        },
        0x73 => {
            let csr = (w >> 20) as i32;
            match f3 {
                0 => match w {
                    0x0000_0073 => mk(Op::Ecall, 0),
                    EBREAK => mk(Op::Ebreak, 0),
                    0x3020_0073 => mk(Op::Mret, 0),
                    0x1050_0073 => mk(Op::Wfi, 0),
                    _ => ILLEGAL,
                },
                1 => mk(Op::Csrrw, csr),
                2 => mk(Op::Csrrs, csr),
                3 => mk(Op::Csrrc, csr),
                5 => mk(Op::Csrrwi, csr),
                6 => mk(Op::Csrrsi, csr),
                7 => mk(Op::Csrrci, csr),
                _ => ILLEGAL,
            }
        }
        0x7b => mk(Op::Rocc, (f7 | (f3 << 8)) as i32),
        0x2f => decode_amo(w, f3, mk),
        0x07 => match f3 {
            2 => mk(Op::Flw, i_imm(w)),
            3 => mk(Op::Fld, i_imm(w)),
            _ => ILLEGAL,
        },
        0x27 => match f3 {
            2 => mk(Op::Fsw, s_imm(w)),
            3 => mk(Op::Fsd, s_imm(w)),
            _ => ILLEGAL,
        },
        0x43 | 0x47 | 0x4b | 0x4f => {
            let fmt = (w >> 25) & 3;
            if fmt > 1 || !rm_valid(f3) {
                return ILLEGAL;
            }
            let op = match w & 0x7f {
                0x43 => Op::Fmadd,
                0x47 => Op::Fmsub,
                0x4b => Op::Fnmsub,
                _ => Op::Fnmadd,
            };
            mk(op, (f3 | (w >> 27) << 3 | fmt << 8) as i32)
        }
        0x53 => decode_fp(w, f3, rs2, mk),
        _ => ILLEGAL,
    }
}

/// The rounding-mode field: 5 and 6 are reserved (7 is dynamic: frm decides when executed).
fn rm_valid(rm: u32) -> bool {
    rm != 5 && rm != 6
}

fn decode_amo(w: u32, f3: u32, mk: impl Fn(Op, i32) -> Inst) -> Inst {
    let f5 = w >> 27;
    let rs2 = (w >> 20) & 31;
    let (lr, sc, amo) = match f3 {
        2 => (Op::LrW, Op::ScW, Op::AmoW),
        3 => (Op::LrD, Op::ScD, Op::AmoD),
        _ => return ILLEGAL,
    };
    match f5 {
        0b00010 if rs2 == 0 => mk(lr, 0),
        0b00011 => mk(sc, 0),
        0b00001 | 0b00000 | 0b00100 | 0b01100 | 0b01000 | 0b10000 | 0b10100 | 0b11000 | 0b11100 => {
            mk(amo, f5 as i32)
        }
        _ => ILLEGAL,
    }
}

/// OP-FP (opcode 0x53): funct7 = funct5 | fmt, with fmt 0 (S) or 1 (D).
fn decode_fp(w: u32, f3: u32, rs2: u8, mk: impl Fn(Op, i32) -> Inst) -> Inst {
    let f5 = w >> 27;
    let fmt = (w >> 25) & 3;
    if fmt > 1 {
        return ILLEGAL;
    }
    let rm = |op: Op| {
        if rm_valid(f3) {
            mk(op, (f3 | fmt << 8) as i32)
        } else {
            ILLEGAL
        }
    };
    let fixed = |op: Op, want_f3: u32| {
        if f3 == want_f3 {
            mk(op, (f3 | fmt << 8) as i32)
        } else {
            ILLEGAL
        }
    };
    match f5 {
        0x00 => rm(Op::Fadd),
        0x01 => rm(Op::Fsub),
        0x02 => rm(Op::Fmul),
        0x03 => rm(Op::Fdiv),
        0x0b if rs2 == 0 => rm(Op::Fsqrt),
        0x04 => match f3 {
            0 => fixed(Op::Fsgnj, 0),
            1 => fixed(Op::Fsgnjn, 1),
            2 => fixed(Op::Fsgnjx, 2),
            _ => ILLEGAL,
        },
        0x05 => match f3 {
            0 => fixed(Op::Fmin, 0),
            1 => fixed(Op::Fmax, 1),
            _ => ILLEGAL,
        },
        // fcvt.s.d (fmt S, rs2 = 1) and fcvt.d.s (fmt D, rs2 = 0).
        0x08 if u32::from(rs2) == 1 - fmt => rm(Op::FcvtFF),
        0x14 => match f3 {
            0 => fixed(Op::Fle, 0),
            1 => fixed(Op::Flt, 1),
            2 => fixed(Op::Feq, 2),
            _ => ILLEGAL,
        },
        0x18 if rs2 < 4 => rm(Op::FcvtIntF),
        0x1a if rs2 < 4 => rm(Op::FcvtFInt),
        0x1c if rs2 == 0 => match f3 {
            0 => fixed(Op::FmvXF, 0),
            1 => fixed(Op::Fclass, 1),
            _ => ILLEGAL,
        },
        0x1e if rs2 == 0 => fixed(Op::FmvFX, 0),
        _ => ILLEGAL,
    }
}
