//! The F and D extensions: FP loads and stores, arithmetic, fused multiply-add, square root, conversions
//! (every rounding mode: RNE, RTZ, RDN, RUP, RMM, and dynamic through `frm`), comparisons, min/max,
//! classify, sign injection and moves, with the accrued exception flags in `fflags`.
//!
//! Rounded arithmetic goes through Berkeley SoftFloat 3 built with its RISC-V specialisation
//! (`softfloat-sys`): the reference Spike itself uses, so results, canonical NaNs (0x7fc00000 /
//! 0x7ff8000000000000), the RISC-V saturating float-to-integer conversions, tininess detected after
//! rounding, and the NV/DZ/OF/UF/NX flags are bit-exact with Spike. SoftFloat's rounding modes and flag
//! bits are numbered as RISC-V's (rm 0-4; NX=1, UF=2, OF=4, DZ=8, NV=16), and its state is thread-local,
//! so each operation sets the mode, clears the flags, calls, and ORs the flags into `fflags`.
//!
//! The operations that do not round (sign injection, min/max, compare, classify, moves) are written out
//! here from the specification. A single lives NaN-boxed in a 64-bit register (upper 32 bits all ones);
//! a single read from a register that is not properly boxed is the canonical NaN.

use super::decode::{Inst, Op};
use super::{Hart, Step, MSTATUS_FS};
use crate::sim::mem::Memory;
use softfloat_sys as sf;

pub(super) const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
pub(super) const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;
const SIGN_S: u32 = 1 << 31;
const SIGN_D: u64 = 1 << 63;
/// fflags bits.
pub(super) const NV: u8 = 16;

/// The single held in a 64-bit register: its low half if NaN-boxed, else the canonical NaN.
#[inline]
pub(super) fn unbox(v: u64) -> u32 {
    if v >> 32 == 0xffff_ffff {
        v as u32
    } else {
        CANONICAL_NAN_S
    }
}

/// A single NaN-boxed for a 64-bit register.
#[inline]
pub(super) fn nan_box(v: u32) -> u64 {
    0xffff_ffff_0000_0000 | u64::from(v)
}

fn is_nan_s(v: u32) -> bool {
    v & 0x7fff_ffff > 0x7f80_0000
}
fn is_nan_d(v: u64) -> bool {
    v & !SIGN_D > 0x7ff0_0000_0000_0000
}
fn is_snan_s(v: u32) -> bool {
    is_nan_s(v) && v & 0x0040_0000 == 0
}
fn is_snan_d(v: u64) -> bool {
    is_nan_d(v) && v & 0x0008_0000_0000_0000 == 0
}

/// fclass: one bit of ten for the sign, exponent and fraction of an IEEE value with `exp_bits` exponent
/// bits and `frac_bits` fraction bits.
fn classify(v: u64, exp_bits: u32, frac_bits: u32) -> u64 {
    let sign = (v >> (exp_bits + frac_bits)) & 1 == 1;
    let exp = (v >> frac_bits) & ((1 << exp_bits) - 1);
    let frac = v & ((1 << frac_bits) - 1);
    let exp_max = (1 << exp_bits) - 1;
    let quiet_bit = 1 << (frac_bits - 1);
    let bit = match (exp, frac) {
        (e, 0) if e == exp_max => {
            if sign {
                0
            } else {
                7
            }
        }
        (e, f) if e == exp_max => {
            if f & quiet_bit != 0 {
                9
            } else {
                8
            }
        }
        (0, 0) => {
            if sign {
                3
            } else {
                4
            }
        }
        (0, _) => {
            if sign {
                2
            } else {
                5
            }
        }
        _ => {
            if sign {
                1
            } else {
                6
            }
        }
    };
    1 << bit
}

/// Run one SoftFloat operation in rounding mode `rm` and return its result and the flags it raised.
#[inline]
fn with_rm<T>(rm: u8, f: impl FnOnce() -> T) -> (T, u8) {
    // SAFETY: these helpers only read and write SoftFloat's thread-local state.
    unsafe {
        sf::softfloat_roundingMode_write_helper(rm);
        sf::softfloat_exceptionFlags_write_helper(0);
    }
    let r = f();
    let flags = unsafe { sf::softfloat_exceptionFlags_read_helper() };
    (r, flags & 0x1f)
}

fn f32v(v: u32) -> sf::float32_t {
    sf::float32_t { v }
}
fn f64v(v: u64) -> sf::float64_t {
    sf::float64_t { v }
}

/// Min or max by the RISC-V rules (IEEE 754-2019 minimumNumber / maximumNumber): a NaN operand yields
/// the other operand, two NaNs the canonical NaN, and -0 orders below +0; a signaling NaN raises NV.
fn min_max_s(a: u32, b: u32, max: bool) -> (u32, u8) {
    let flags = if is_snan_s(a) || is_snan_s(b) { NV } else { 0 };
    let r = match (is_nan_s(a), is_nan_s(b)) {
        (true, true) => CANONICAL_NAN_S,
        (true, false) => b,
        (false, true) => a,
        _ => {
            let (fa, fb) = (f32::from_bits(a), f32::from_bits(b));
            // Equal values are bit-identical except +0 / -0: OR picks -0 (min), AND picks +0 (max).
            match (max, fa < fb, fb < fa) {
                (false, true, _) | (true, _, true) => a,
                (false, _, true) | (true, true, _) => b,
                (false, false, false) => a | b,
                (true, false, false) => a & b,
            }
        }
    };
    (r, flags)
}

/// [`min_max_s`] for doubles.
fn min_max_d(a: u64, b: u64, max: bool) -> (u64, u8) {
    let flags = if is_snan_d(a) || is_snan_d(b) { NV } else { 0 };
    let r = match (is_nan_d(a), is_nan_d(b)) {
        (true, true) => CANONICAL_NAN_D,
        (true, false) => b,
        (false, true) => a,
        _ => {
            let (fa, fb) = (f64::from_bits(a), f64::from_bits(b));
            match (max, fa < fb, fb < fa) {
                (false, true, _) | (true, _, true) => a,
                (false, _, true) | (true, true, _) => b,
                (false, false, false) => a | b,
                (true, false, false) => a & b,
            }
        }
    };
    (r, flags)
}

impl Hart {
    /// The rounding mode of an instruction whose rm field is `field` (7: the dynamic mode in frm), or
    /// None when it is reserved (5, 6, or frm holding 5-7), which makes the instruction illegal.
    fn rounding_mode(&self, field: i32) -> Option<u8> {
        let rm = if field & 7 == 7 {
            self.frm
        } else {
            (field & 7) as u8
        };
        (rm <= 4).then_some(rm)
    }

    /// Execute an F/D instruction; `a` is the value of the integer register rs1 (the address of a load
    /// or store, the source of an integer-to-float conversion or move).
    pub(super) fn exec_fp(&mut self, i: Inst, a: u64, mem: &mut Memory) -> Step {
        if self.mstatus & MSTATUS_FS == 0 {
            return self.illegal(
                mem,
                "FP instruction with mstatus.FS = Off (the FPU is disabled: start-up code must set \
                 mstatus.FS, as riscv-tests' crt.S does)",
            );
        }
        let t = &self.timing;
        let dbl = (i.imm >> 8) & 1 == 1;
        let (fma, div, sqrt, misc) = if dbl {
            (t.fma_d, t.fdiv_d, t.fsqrt_d, t.fpu_misc)
        } else {
            (t.fma_s, t.fdiv_s, t.fsqrt_s, t.fpu_misc)
        };
        let load = t.load;
        let (f1, f2) = (self.f[(i.rs1 & 31) as usize], self.f[(i.rs2 & 31) as usize]);
        let f3 = self.f[((i.imm >> 3) & 31) as usize];
        match i.op {
            Op::Flw | Op::Fld => {
                let n = if i.op == Op::Flw { 4 } else { 8 };
                let v = tri!(self.load(mem, a.wrapping_add(i.imm as i64 as u64), n));
                self.f[(i.rd & 31) as usize] = if n == 4 { nan_box(v as u32) } else { v };
                self.mstatus |= MSTATUS_FS;
                return self.advance(i.len, load);
            }
            Op::Fsw | Op::Fsd => {
                let n = if i.op == Op::Fsw { 4 } else { 8 };
                let addr = a.wrapping_add(i.imm as i64 as u64);
                return self.store(mem, addr, n, f2, i.len);
            }
            _ => {}
        }
        // Operations that round need a valid rounding mode.
        let rounds = matches!(
            i.op,
            Op::Fmadd
                | Op::Fmsub
                | Op::Fnmsub
                | Op::Fnmadd
                | Op::Fadd
                | Op::Fsub
                | Op::Fmul
                | Op::Fdiv
                | Op::Fsqrt
                | Op::FcvtIntF
                | Op::FcvtFInt
                | Op::FcvtFF
        );
        let rm = if rounds {
            match self.rounding_mode(i.imm) {
                Some(rm) => rm,
                None => {
                    let frm = self.frm;
                    return self.illegal(
                        mem,
                        &format!("reserved rounding mode (rm field {}, frm {frm})", i.imm & 7),
                    );
                }
            }
        } else {
            0
        };
        // The result: Ok(bits) for an FP destination, Err(value) for an integer one.
        let done = if dbl {
            exec_d(i, a, rm, f1, f2, f3, fma, div, sqrt, misc)
        } else {
            exec_s(i, a, rm, f1, f2, f3, fma, div, sqrt, misc)
        };
        let Some((res, flags, cycles)) = done else {
            return self.illegal(mem, "not an F/D instruction");
        };
        self.fflags |= flags;
        // Any change of FP state (a register or a flag) makes mstatus.FS Dirty.
        if flags != 0 {
            self.mstatus |= MSTATUS_FS;
        }
        match res {
            Ok(bits) => {
                self.f[(i.rd & 31) as usize] = bits;
                self.mstatus |= MSTATUS_FS;
            }
            Err(x) => self.write_rd(i.rd, x),
        }
        self.advance(i.len, cycles)
    }
}

/// The result of an F/D operation: Ok(bits) for an FP destination or Err(value) for an integer one, the
/// flags raised, and the cycles it occupies.
type FpResult = Option<(Result<u64, u64>, u8, u32)>;

/// A single-precision operation (`x`: integer rs1; `f1`-`f3`: the raw FP source registers).
#[allow(clippy::too_many_arguments)]
fn exec_s(
    i: Inst,
    x: u64,
    rm: u8,
    f1: u64,
    f2: u64,
    f3: u64,
    fma: u32,
    div: u32,
    sqrt: u32,
    misc: u32,
) -> FpResult {
    let (a, b, c) = (unbox(f1), unbox(f2), unbox(f3));
    let fp = |(r, fl): (sf::float32_t, u8), cyc: u32| (Ok(nan_box(r.v)), fl, cyc);
    let int = |(r, fl): (u64, u8)| (Err(r), fl, misc);
    // SAFETY (every `unsafe` below): SoftFloat's functions are pure apart from its thread-local
    // rounding mode and flags.
    Some(unsafe {
        match i.op {
            Op::Fadd => fp(with_rm(rm, || sf::f32_add(f32v(a), f32v(b))), fma),
            Op::Fsub => fp(with_rm(rm, || sf::f32_sub(f32v(a), f32v(b))), fma),
            Op::Fmul => fp(with_rm(rm, || sf::f32_mul(f32v(a), f32v(b))), fma),
            Op::Fdiv => fp(with_rm(rm, || sf::f32_div(f32v(a), f32v(b))), div),
            Op::Fsqrt => fp(with_rm(rm, || sf::f32_sqrt(f32v(a))), sqrt),
            Op::Fmadd | Op::Fmsub | Op::Fnmsub | Op::Fnmadd => {
                // fmsub: a*b - c; fnmsub: -(a*b) + c; fnmadd: -(a*b) - c. Negating an operand
                // flips its sign bit (a NaN result is canonical either way).
                let na = if matches!(i.op, Op::Fnmsub | Op::Fnmadd) {
                    SIGN_S
                } else {
                    0
                };
                let nc = if matches!(i.op, Op::Fmsub | Op::Fnmadd) {
                    SIGN_S
                } else {
                    0
                };
                fp(
                    with_rm(rm, || sf::f32_mulAdd(f32v(a ^ na), f32v(b), f32v(c ^ nc))),
                    fma,
                )
            }
            Op::Fsgnj => (Ok(nan_box(a & !SIGN_S | b & SIGN_S)), 0, misc),
            Op::Fsgnjn => (Ok(nan_box(a & !SIGN_S | !b & SIGN_S)), 0, misc),
            Op::Fsgnjx => (Ok(nan_box(a ^ b & SIGN_S)), 0, misc),
            Op::Fmin | Op::Fmax => {
                let (r, fl) = min_max_s(a, b, i.op == Op::Fmax);
                (Ok(nan_box(r)), fl, misc)
            }
            Op::FcvtIntF => int(with_rm(rm, || match i.rs2 {
                0 => sf::f32_to_i32(f32v(a), rm, true) as i32 as i64 as u64,
                1 => sf::f32_to_ui32(f32v(a), rm, true) as u32 as i32 as i64 as u64,
                2 => sf::f32_to_i64(f32v(a), rm, true) as u64,
                _ => sf::f32_to_ui64(f32v(a), rm, true),
            })),
            Op::FcvtFInt => fp(
                with_rm(rm, || match i.rs2 {
                    0 => sf::i32_to_f32(x as i32),
                    1 => sf::ui32_to_f32(x as u32),
                    2 => sf::i64_to_f32(x as i64),
                    _ => sf::ui64_to_f32(x),
                }),
                misc,
            ),
            // fcvt.s.d: the source is a double.
            Op::FcvtFF => fp(with_rm(rm, || sf::f64_to_f32(f64v(f1))), misc),
            Op::FmvXF => (Err(f1 as u32 as i32 as i64 as u64), 0, misc),
            Op::FmvFX => (Ok(nan_box(x as u32)), 0, misc),
            Op::Fclass => (Err(classify(u64::from(a), 8, 23)), 0, misc),
            Op::Feq => int(with_rm(0, || sf::f32_eq(f32v(a), f32v(b)) as u64)),
            Op::Flt => int(with_rm(0, || sf::f32_lt(f32v(a), f32v(b)) as u64)),
            Op::Fle => int(with_rm(0, || sf::f32_le(f32v(a), f32v(b)) as u64)),
            _ => return None,
        }
    })
}

/// A double-precision operation (as [`exec_s`]).
#[allow(clippy::too_many_arguments)]
fn exec_d(
    i: Inst,
    x: u64,
    rm: u8,
    a: u64,
    b: u64,
    c: u64,
    fma: u32,
    div: u32,
    sqrt: u32,
    misc: u32,
) -> FpResult {
    let fp = |(r, fl): (sf::float64_t, u8), cyc: u32| (Ok(r.v), fl, cyc);
    let int = |(r, fl): (u64, u8)| (Err(r), fl, misc);
    // SAFETY: as in exec_s.
    Some(unsafe {
        match i.op {
            Op::Fadd => fp(with_rm(rm, || sf::f64_add(f64v(a), f64v(b))), fma),
            Op::Fsub => fp(with_rm(rm, || sf::f64_sub(f64v(a), f64v(b))), fma),
            Op::Fmul => fp(with_rm(rm, || sf::f64_mul(f64v(a), f64v(b))), fma),
            Op::Fdiv => fp(with_rm(rm, || sf::f64_div(f64v(a), f64v(b))), div),
            Op::Fsqrt => fp(with_rm(rm, || sf::f64_sqrt(f64v(a))), sqrt),
            Op::Fmadd | Op::Fmsub | Op::Fnmsub | Op::Fnmadd => {
                let na = if matches!(i.op, Op::Fnmsub | Op::Fnmadd) {
                    SIGN_D
                } else {
                    0
                };
                let nc = if matches!(i.op, Op::Fmsub | Op::Fnmadd) {
                    SIGN_D
                } else {
                    0
                };
                fp(
                    with_rm(rm, || sf::f64_mulAdd(f64v(a ^ na), f64v(b), f64v(c ^ nc))),
                    fma,
                )
            }
            Op::Fsgnj => (Ok(a & !SIGN_D | b & SIGN_D), 0, misc),
            Op::Fsgnjn => (Ok(a & !SIGN_D | !b & SIGN_D), 0, misc),
            Op::Fsgnjx => (Ok(a ^ b & SIGN_D), 0, misc),
            Op::Fmin | Op::Fmax => {
                let (r, fl) = min_max_d(a, b, i.op == Op::Fmax);
                (Ok(r), fl, misc)
            }
            Op::FcvtIntF => int(with_rm(rm, || match i.rs2 {
                0 => sf::f64_to_i32(f64v(a), rm, true) as i32 as i64 as u64,
                1 => sf::f64_to_ui32(f64v(a), rm, true) as u32 as i32 as i64 as u64,
                2 => sf::f64_to_i64(f64v(a), rm, true) as u64,
                _ => sf::f64_to_ui64(f64v(a), rm, true),
            })),
            Op::FcvtFInt => fp(
                with_rm(rm, || match i.rs2 {
                    0 => sf::i32_to_f64(x as i32),
                    1 => sf::ui32_to_f64(x as u32),
                    2 => sf::i64_to_f64(x as i64),
                    _ => sf::ui64_to_f64(x),
                }),
                misc,
            ),
            // fcvt.d.s: the source is a (NaN-boxed) single.
            Op::FcvtFF => fp(with_rm(rm, || sf::f32_to_f64(f32v(unbox(a)))), misc),
            Op::FmvXF => (Err(a), 0, misc),
            Op::FmvFX => (Ok(x), 0, misc),
            Op::Fclass => (Err(classify(a, 11, 52)), 0, misc),
            Op::Feq => int(with_rm(0, || sf::f64_eq(f64v(a), f64v(b)) as u64)),
            Op::Flt => int(with_rm(0, || sf::f64_lt(f64v(a), f64v(b)) as u64)),
            Op::Fle => int(with_rm(0, || sf::f64_le(f64v(a), f64v(b)) as u64)),
            _ => return None,
        }
    })
}
