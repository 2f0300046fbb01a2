//! The C extension (RV64C): every 16-bit compressed instruction is expanded into the 32-bit RV64GC
//! instruction it stands for, so the hart has one decoder ([`super::decode::decode`]) and one execution
//! path; the decoded form only remembers that the instruction was 2 bytes long (next pc and link address
//! `pc + 2`).
//!
//! Encodings follow the RISC-V unprivileged specification, chapter "C" (RVC instruction listings for
//! quadrants 0, 1 and 2, RV64 column). Reserved encodings (the all-zero halfword, `c.addi4spn` with a zero
//! immediate, `c.lwsp`/`c.ldsp` with rd = x0, `c.jr` with rs1 = x0, `c.addiw` with rd = x0,
//! `c.addi16sp`/`c.lui` with a zero immediate, and the reserved arithmetic slots) expand to None, which
//! the hart raises as an illegal instruction. HINT encodings (e.g. `c.addi x0, 5`, `c.li x0, 1`, shifts
//! by zero) expand to their architectural no-op or zero-shift equivalents, as the specification allows.

/// Bit `i` of `h`, as a u32.
#[inline]
fn bit(h: u32, i: u32) -> u32 {
    (h >> i) & 1
}

/// Bits `hi:lo` of `h`.
#[inline]
fn bits(h: u32, hi: u32, lo: u32) -> u32 {
    (h >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Sign-extend the low `n` bits of `v`.
#[inline]
fn sext(v: u32, n: u32) -> i32 {
    ((v << (32 - n)) as i32) >> (32 - n)
}

fn r_type(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc
}

fn i_type(imm: i32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    ((imm as u32) & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc
}

fn s_type(imm: i32, rs2: u32, rs1: u32, f3: u32, opc: u32) -> u32 {
    let imm = imm as u32;
    ((imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 0x1f) << 7 | opc
}

fn b_type(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let imm = imm as u32;
    bit(imm, 12) << 31
        | bits(imm, 10, 5) << 25
        | rs2 << 20
        | rs1 << 15
        | f3 << 12
        | bits(imm, 4, 1) << 8
        | bit(imm, 11) << 7
        | 0x63
}

fn j_type(imm: i32, rd: u32) -> u32 {
    let imm = imm as u32;
    bit(imm, 20) << 31
        | bits(imm, 10, 1) << 21
        | bit(imm, 11) << 20
        | bits(imm, 19, 12) << 12
        | rd << 7
        | 0x6f
}

const OP_IMM: u32 = 0x13;
const OP_IMM_32: u32 = 0x1b;
const OP: u32 = 0x33;
const OP_32: u32 = 0x3b;
const LOAD: u32 = 0x03;
const STORE: u32 = 0x23;
const LOAD_FP: u32 = 0x07;
const STORE_FP: u32 = 0x27;
const SP: u32 = 2;

/// Expand one compressed instruction into its 32-bit equivalent (None: reserved or not a 16-bit
/// instruction).
pub(crate) fn expand(h: u16) -> Option<u32> {
    let h = u32::from(h);
    let f3 = bits(h, 15, 13);
    // The full register fields (quadrants 1 and 2) and the popular registers x8-x15 (rd'/rs1'/rs2').
    let rd = bits(h, 11, 7);
    let rs2 = bits(h, 6, 2);
    let rdp = bits(h, 4, 2) + 8;
    let rs1p = bits(h, 9, 7) + 8;
    // The 6-bit immediate of c.addi, c.li, c.andi, ...: imm[5] = bit 12, imm[4:0] = bits 6:2.
    let imm6 = sext(bit(h, 12) << 5 | bits(h, 6, 2), 6);
    let shamt = bit(h, 12) << 5 | bits(h, 6, 2);
    // Offsets of the word and doubleword register-based loads and stores (quadrant 0).
    let off_w = (bits(h, 12, 10) << 3 | bit(h, 6) << 2 | bit(h, 5) << 6) as i32;
    let off_d = (bits(h, 12, 10) << 3 | bits(h, 6, 5) << 6) as i32;
    Some(match (h & 3, f3) {
        (0, 0) => {
            // c.addi4spn: nzuimm[5:4|9:6|2|3] in bits 12:5.
            let imm = bits(h, 12, 11) << 4 | bits(h, 10, 7) << 6 | bit(h, 6) << 2 | bit(h, 5) << 3;
            if imm == 0 {
                return None;
            }
            i_type(imm as i32, SP, 0, rdp, OP_IMM)
        }
        (0, 1) => i_type(off_d, rs1p, 3, rdp, LOAD_FP), // c.fld
        (0, 2) => i_type(off_w, rs1p, 2, rdp, LOAD),    // c.lw
        (0, 3) => i_type(off_d, rs1p, 3, rdp, LOAD),    // c.ld
        (0, 5) => s_type(off_d, rdp, rs1p, 3, STORE_FP), // c.fsd
        (0, 6) => s_type(off_w, rdp, rs1p, 2, STORE),   // c.sw
        (0, 7) => s_type(off_d, rdp, rs1p, 3, STORE),   // c.sd
        (0, _) => return None,
        (1, 0) => i_type(imm6, rd, 0, rd, OP_IMM), // c.addi (c.nop, hints)
        (1, 1) => {
            // c.addiw (RV64); rd = x0 is reserved.
            if rd == 0 {
                return None;
            }
            i_type(imm6, rd, 0, rd, OP_IMM_32)
        }
        (1, 2) => i_type(imm6, 0, 0, rd, OP_IMM), // c.li
        (1, 3) if rd == SP => {
            // c.addi16sp: nzimm[9] = 12, [4] = 6, [6] = 5, [8:7] = 4:3, [5] = 2.
            let imm = bit(h, 12) << 9
                | bit(h, 6) << 4
                | bit(h, 5) << 6
                | bits(h, 4, 3) << 7
                | bit(h, 2) << 5;
            if imm == 0 {
                return None;
            }
            i_type(sext(imm, 10), SP, 0, SP, OP_IMM)
        }
        (1, 3) => {
            // c.lui: nzimm[17] = 12, nzimm[16:12] = 6:2.
            if imm6 == 0 {
                return None;
            }
            ((imm6 as u32) << 12) | rd << 7 | 0x37
        }
        (1, 4) => match bits(h, 11, 10) {
            0 => i_type(shamt as i32, rs1p, 5, rs1p, OP_IMM), // c.srli
            1 => i_type((shamt | 0x400) as i32, rs1p, 5, rs1p, OP_IMM), // c.srai
            2 => i_type(imm6, rs1p, 7, rs1p, OP_IMM),         // c.andi
            _ => {
                let rs2p = rdp;
                match (bit(h, 12), bits(h, 6, 5)) {
                    (0, 0) => r_type(0x20, rs2p, rs1p, 0, rs1p, OP), // c.sub
                    (0, 1) => r_type(0, rs2p, rs1p, 4, rs1p, OP),    // c.xor
                    (0, 2) => r_type(0, rs2p, rs1p, 6, rs1p, OP),    // c.or
                    (0, 3) => r_type(0, rs2p, rs1p, 7, rs1p, OP),    // c.and
                    (1, 0) => r_type(0x20, rs2p, rs1p, 0, rs1p, OP_32), // c.subw
                    (1, 1) => r_type(0, rs2p, rs1p, 0, rs1p, OP_32), // c.addw
                    _ => return None,
                }
            }
        },
        (1, 5) => {
            // c.j: imm[11|4|9:8|10|6|7|3:1|5] in bits 12:2.
            let imm = bit(h, 12) << 11
                | bit(h, 11) << 4
                | bits(h, 10, 9) << 8
                | bit(h, 8) << 10
                | bit(h, 7) << 6
                | bit(h, 6) << 7
                | bits(h, 5, 3) << 1
                | bit(h, 2) << 5;
            j_type(sext(imm, 12), 0)
        }
        (1, _) => {
            // c.beqz / c.bnez: imm[8|4:3] in 12:10, imm[7:6|2:1|5] in 6:2.
            let imm = bit(h, 12) << 8
                | bits(h, 11, 10) << 3
                | bits(h, 6, 5) << 6
                | bits(h, 4, 3) << 1
                | bit(h, 2) << 5;
            b_type(sext(imm, 9), 0, rs1p, f3 & 1)
        }
        (2, 0) => i_type(shamt as i32, rd, 1, rd, OP_IMM), // c.slli
        (2, 1) => {
            // c.fldsp: uimm[5] = 12, uimm[4:3|8:6] = 6:2.
            let imm = bit(h, 12) << 5 | bits(h, 6, 5) << 3 | bits(h, 4, 2) << 6;
            i_type(imm as i32, SP, 3, rd, LOAD_FP)
        }
        (2, 2) => {
            // c.lwsp: uimm[5] = 12, uimm[4:2|7:6] = 6:2; rd = x0 is reserved.
            if rd == 0 {
                return None;
            }
            let imm = bit(h, 12) << 5 | bits(h, 6, 4) << 2 | bits(h, 3, 2) << 6;
            i_type(imm as i32, SP, 2, rd, LOAD)
        }
        (2, 3) => {
            // c.ldsp; rd = x0 is reserved.
            if rd == 0 {
                return None;
            }
            let imm = bit(h, 12) << 5 | bits(h, 6, 5) << 3 | bits(h, 4, 2) << 6;
            i_type(imm as i32, SP, 3, rd, LOAD)
        }
        (2, 4) => match (bit(h, 12), rd, rs2) {
            (0, 0, 0) => return None,                  // c.jr x0 is reserved
            (0, _, 0) => i_type(0, rd, 0, 0, 0x67),    // c.jr
            (0, _, _) => r_type(0, rs2, 0, 0, rd, OP), // c.mv
            (1, 0, 0) => super::decode::EBREAK,        // c.ebreak
            (1, _, 0) => i_type(0, rd, 0, 1, 0x67),    // c.jalr
            _ => r_type(0, rs2, rd, 0, rd, OP),        // c.add
        },
        (2, 5) => {
            // c.fsdsp: uimm[5:3|8:6] in 12:7.
            let imm = bits(h, 12, 10) << 3 | bits(h, 9, 7) << 6;
            s_type(imm as i32, rs2, SP, 3, STORE_FP)
        }
        (2, 6) => {
            // c.swsp: uimm[5:2|7:6] in 12:7.
            let imm = bits(h, 12, 9) << 2 | bits(h, 8, 7) << 6;
            s_type(imm as i32, rs2, SP, 2, STORE)
        }
        (2, 7) => {
            // c.sdsp.
            let imm = bits(h, 12, 10) << 3 | bits(h, 9, 7) << 6;
            s_type(imm as i32, rs2, SP, 3, STORE)
        }
        _ => return None,
    })
}
