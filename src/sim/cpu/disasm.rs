//! A compact disassembler for every instruction the hart implements, in the standard assembler syntax with
//! ABI register names (`addi a0, a0, 1`, `ld ra, 8(sp)`, `csrrs a0, mcycle, zero`). Branch and jump targets
//! are printed as absolute addresses; words the hart does not implement print as `.insn 0x...`.

use super::decode::{decode, Op};
use crate::sim::isa::Funct;

/// ABI names of the integer registers.
pub const REG_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// The name of a CSR the hart knows (None for any other number).
pub fn csr_name(csr: u16) -> Option<&'static str> {
    Some(match csr {
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

/// Disassemble one instruction word located at `pc` (used for branch and jump targets).
pub fn disassemble(word: u32, pc: u64) -> String {
    use Op::*;
    let i = decode(word);
    let m = mnemonic(i.op);
    let target = |off: i32| pc.wrapping_add(off as i64 as u64);
    match i.op {
        Illegal => format!(".insn 0x{word:08x}"),
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
