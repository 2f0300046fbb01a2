//! A compact disassembler for every instruction the hart implements, in the standard assembler syntax with
//! ABI register names (`addi a0, a0, 1`, `ld ra, 8(sp)`, `csrrs a0, mcycle, zero`, `fmadd.s fa0, fa1,
//! fa2, fa3`). A compressed instruction prints as the 32-bit instruction it expands to. Branch and jump
//! targets are printed as absolute addresses; words the hart does not implement print as `.insn 0x...`.

use super::decode::{decode_parcel, Op};
use crate::sim::isa::Funct;

/// ABI names of the integer registers.
pub const REG_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of the floating-point registers.
pub const FREG_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The name of a CSR the hart knows (None for any other number).
pub fn csr_name(csr: u16) -> Option<&'static str> {
    Some(match csr {
        0x001 => "fflags",
        0x002 => "frm",
        0x003 => "fcsr",
        0xc00 => "cycle",
        0xc01 => "time",
        0xc02 => "instret",
        0xb00 => "mcycle",
        0xb02 => "minstret",
        0x300 => "mstatus",
        0x301 => "misa",
        0x302 => "medeleg",
        0x303 => "mideleg",
        0x304 => "mie",
        0x305 => "mtvec",
        0x320 => "mcountinhibit",
        0x340 => "mscratch",
        0x341 => "mepc",
        0x342 => "mcause",
        0x343 => "mtval",
        0x344 => "mip",
        0x7a0 => "tselect",
        0x7a1 => "tdata1",
        0x7a2 => "tdata2",
        0x7a3 => "tdata3",
        0xf11 => "mvendorid",
        0xf12 => "marchid",
        0xf13 => "mimpid",
        0xf14 => "mhartid",
        0xf15 => "mconfigptr",
        _ => return None,
    })
}

fn r(i: u8) -> &'static str {
    REG_NAMES[(i & 31) as usize]
}

fn fr(i: u8) -> &'static str {
    FREG_NAMES[(i & 31) as usize]
}

fn mnemonic(op: Op) -> &'static str {
    use Op::*;
    match op {
        Illegal => ".insn",
        Lui => "lui",
        Auipc => "auipc",
        Jal => "jal",
        Jalr => "jalr",
        Beq => "beq",
        Bne => "bne",
        Blt => "blt",
        Bge => "bge",
        Bltu => "bltu",
        Bgeu => "bgeu",
        Lb => "lb",
        Lh => "lh",
        Lw => "lw",
        Ld => "ld",
        Lbu => "lbu",
        Lhu => "lhu",
        Lwu => "lwu",
        Sb => "sb",
        Sh => "sh",
        Sw => "sw",
        Sd => "sd",
        Addi => "addi",
        Slti => "slti",
        Sltiu => "sltiu",
        Xori => "xori",
        Ori => "ori",
        Andi => "andi",
        Slli => "slli",
        Srli => "srli",
        Srai => "srai",
        Add => "add",
        Sub => "sub",
        Sll => "sll",
        Slt => "slt",
        Sltu => "sltu",
        Xor => "xor",
        Srl => "srl",
        Sra => "sra",
        Or => "or",
        And => "and",
        Addiw => "addiw",
        Slliw => "slliw",
        Srliw => "srliw",
        Sraiw => "sraiw",
        Addw => "addw",
        Subw => "subw",
        Sllw => "sllw",
        Srlw => "srlw",
        Sraw => "sraw",
        Mul => "mul",
        Mulh => "mulh",
        Mulhsu => "mulhsu",
        Mulhu => "mulhu",
        Div => "div",
        Divu => "divu",
        Rem => "rem",
        Remu => "remu",
        Mulw => "mulw",
        Divw => "divw",
        Divuw => "divuw",
        Remw => "remw",
        Remuw => "remuw",
        Fence => "fence",
        FenceI => "fence.i",
        Ecall => "ecall",
        Ebreak => "ebreak",
        Mret => "mret",
        Wfi => "wfi",
        Csrrw => "csrrw",
        Csrrs => "csrrs",
        Csrrc => "csrrc",
        Csrrwi => "csrrwi",
        Csrrsi => "csrrsi",
        Csrrci => "csrrci",
        Rocc => "custom3",
        LrW => "lr.w",
        ScW => "sc.w",
        LrD => "lr.d",
        ScD => "sc.d",
        AmoW | AmoD => "amo",
        Flw => "flw",
        Fld => "fld",
        Fsw => "fsw",
        Fsd => "fsd",
        Fmadd => "fmadd",
        Fmsub => "fmsub",
        Fnmsub => "fnmsub",
        Fnmadd => "fnmadd",
        Fadd => "fadd",
        Fsub => "fsub",
        Fmul => "fmul",
        Fdiv => "fdiv",
        Fsqrt => "fsqrt",
        Fsgnj => "fsgnj",
        Fsgnjn => "fsgnjn",
        Fsgnjx => "fsgnjx",
        Fmin => "fmin",
        Fmax => "fmax",
        FcvtIntF | FcvtFInt | FcvtFF => "fcvt",
        FmvXF | FmvFX => "fmv",
        Fclass => "fclass",
        Feq => "feq",
        Flt => "flt",
        Fle => "fle",
    }
}

/// The AMO mnemonic of funct5 `f5`.
fn amo_name(f5: i32) -> &'static str {
    match f5 {
        0b00001 => "amoswap",
        0b00000 => "amoadd",
        0b00100 => "amoxor",
        0b01100 => "amoand",
        0b01000 => "amoor",
        0b10000 => "amomin",
        0b10100 => "amomax",
        0b11000 => "amominu",
        _ => "amomaxu",
    }
}

/// The assembler's name of a static rounding mode ("" for dynamic).
fn rm_suffix(rm: i32) -> &'static str {
    match rm & 7 {
        0 => ", rne",
        1 => ", rtz",
        2 => ", rdn",
        3 => ", rup",
        4 => ", rmm",
        _ => "",
    }
}

fn fence_set(bits: u32) -> String {
    let mut s = String::new();
    for (bit, c) in [(8, 'i'), (4, 'o'), (2, 'r'), (1, 'w')] {
        if bits & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('0');
    }
    s
}

/// Disassemble the instruction at `pc` (used for branch and jump targets) whose first bytes are `word`
/// (a compressed instruction is its low 16 bits).
pub fn disassemble(word: u32, pc: u64) -> String {
    use Op::*;
    let i = decode_parcel(word);
    let m = mnemonic(i.op);
    let target = |off: i32| pc.wrapping_add(off as i64 as u64);
    let fmt = if (i.imm >> 8) & 1 == 1 { "d" } else { "s" };
    let int_fmt = ["w", "wu", "l", "lu"][(i.rs2 & 3) as usize];
    match i.op {
        Illegal if i.len == 2 => format!(".insn 0x{:04x}", word & 0xffff),
        Illegal => format!(".insn 0x{word:08x}"),
        LrW | LrD => format!("{m} {}, ({})", r(i.rd), r(i.rs1)),
        ScW | ScD => format!("{m} {}, {}, ({})", r(i.rd), r(i.rs2), r(i.rs1)),
        AmoW | AmoD => {
            let w = if i.op == AmoW { "w" } else { "d" };
            let name = amo_name(i.imm);
            format!("{name}.{w} {}, {}, ({})", r(i.rd), r(i.rs2), r(i.rs1))
        }
        Flw | Fld => format!("{m} {}, {}({})", fr(i.rd), i.imm, r(i.rs1)),
        Fsw | Fsd => format!("{m} {}, {}({})", fr(i.rs2), i.imm, r(i.rs1)),
        Fmadd | Fmsub | Fnmsub | Fnmadd => format!(
            "{m}.{fmt} {}, {}, {}, {}{}",
            fr(i.rd),
            fr(i.rs1),
            fr(i.rs2),
            fr(((i.imm >> 3) & 31) as u8),
            rm_suffix(i.imm)
        ),
        Fadd | Fsub | Fmul | Fdiv => format!(
            "{m}.{fmt} {}, {}, {}{}",
            fr(i.rd),
            fr(i.rs1),
            fr(i.rs2),
            rm_suffix(i.imm)
        ),
        Fsqrt => format!("{m}.{fmt} {}, {}{}", fr(i.rd), fr(i.rs1), rm_suffix(i.imm)),
        Fsgnj | Fsgnjn | Fsgnjx | Fmin | Fmax => {
            format!("{m}.{fmt} {}, {}, {}", fr(i.rd), fr(i.rs1), fr(i.rs2))
        }
        Feq | Flt | Fle => format!("{m}.{fmt} {}, {}, {}", r(i.rd), fr(i.rs1), fr(i.rs2)),
        FcvtIntF => format!(
            "fcvt.{int_fmt}.{fmt} {}, {}{}",
            r(i.rd),
            fr(i.rs1),
            rm_suffix(i.imm)
        ),
        FcvtFInt => format!(
            "fcvt.{fmt}.{int_fmt} {}, {}{}",
            fr(i.rd),
            r(i.rs1),
            rm_suffix(i.imm)
        ),
        FcvtFF => {
            let src = if fmt == "d" { "s" } else { "d" };
            format!(
                "fcvt.{fmt}.{src} {}, {}{}",
                fr(i.rd),
                fr(i.rs1),
                rm_suffix(i.imm)
            )
        }
        FmvXF => {
            let w = if fmt == "d" { "d" } else { "w" };
            format!("fmv.x.{w} {}, {}", r(i.rd), fr(i.rs1))
        }
        FmvFX => {
            let w = if fmt == "d" { "d" } else { "w" };
            format!("fmv.{w}.x {}, {}", fr(i.rd), r(i.rs1))
        }
        Fclass => format!("{m}.{fmt} {}, {}", r(i.rd), fr(i.rs1)),
        Lui | Auipc => format!("{m} {}, 0x{:x}", r(i.rd), (i.imm as u32) >> 12),
        Jal => format!("{m} {}, 0x{:x}", r(i.rd), target(i.imm)),
        Jalr => format!("{m} {}, {}({})", r(i.rd), i.imm, r(i.rs1)),
        Beq | Bne | Blt | Bge | Bltu | Bgeu => {
            format!("{m} {}, {}, 0x{:x}", r(i.rs1), r(i.rs2), target(i.imm))
        }
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
            format!("{m} {}, {}({})", r(i.rd), i.imm, r(i.rs1))
        }
        Sb | Sh | Sw | Sd => format!("{m} {}, {}({})", r(i.rs2), i.imm, r(i.rs1)),
        Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Addiw | Slliw | Srliw
        | Sraiw => format!("{m} {}, {}, {}", r(i.rd), r(i.rs1), i.imm),
        Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Addw | Subw | Sllw | Srlw
        | Sraw | Mul | Mulh | Mulhsu | Mulhu | Div | Divu | Rem | Remu | Mulw | Divw | Divuw
        | Remw | Remuw => format!("{m} {}, {}, {}", r(i.rd), r(i.rs1), r(i.rs2)),
        Fence => {
            let bits = i.imm as u32;
            if bits == 0xff {
                m.to_string()
            } else {
                format!("{m} {}, {}", fence_set(bits >> 4), fence_set(bits & 15))
            }
        }
        FenceI | Ecall | Ebreak | Mret | Wfi => m.to_string(),
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => {
            let csr = i.imm as u16;
            let name = csr_name(csr)
                .map(str::to_string)
                .unwrap_or_else(|| format!("0x{csr:03x}"));
            if matches!(i.op, Csrrwi | Csrrsi | Csrrci) {
                format!("{m} {}, {name}, {}", r(i.rd), i.rs1)
            } else {
                format!("{m} {}, {name}, {}", r(i.rd), r(i.rs1))
            }
        }
        Rocc => {
            // GNU syntax: .insn r opcode, funct3, funct7, rd, rs1, rs2.
            let f7 = (i.imm & 0x7f) as u8;
            let f3 = (i.imm >> 8) & 7;
            let name = Funct::from_u8(f7).map(|f| f.name()).unwrap_or("unknown");
            format!(
                ".insn r CUSTOM_3, {f3}, {f7}, {}, {}, {}  # rocc {name}",
                r(i.rd),
                r(i.rs1),
                r(i.rs2)
            )
        }
    }
}
