//! Bit-exact arithmetic shared by the functional model, the tests and (mirrored) the RTL:
//! the mvin scaler, the accumulator read-out scaler, the OS rounding right shift and saturation
//! (docs/accelerator.md sections 2 and 3; spec 2.6), and the [`Datapath`] that picks the int8/int32 or the
//! binary32 version of every element operation (section 2.1; rtl/gemmini_pkg.sv `e_*`).
//!
//! Every function is total: NaN, infinities, extreme shifts and widths all have a defined result, because
//! the RTL must produce the same bits for any register value a program can write.

/// Rounds to the nearest integer, ties to even, and converts with saturation to `i64`; NaN gives 0.
///
/// Rust's float-to-int `as` already saturates and maps NaN to 0; the explicit NaN test documents the
/// contract rather than relying on it silently.
pub fn rne_to_i64(f: f32) -> i64 {
    if f.is_nan() {
        return 0;
    }
    f.round_ties_even() as i64
}

/// `rne_int_sat32` of docs section 2: round half to even, saturate to `i32`, NaN gives 0.
pub fn rne_to_i32_sat(f: f32) -> i32 {
    clip_bits(rne_to_i64(f), 32)
}

/// Signed saturation of `x` to a `bits`-wide two's-complement range (`bits` in 1..=32; values outside
/// are clamped into that interval so the function is total).
pub fn clip_bits(x: i64, bits: u32) -> i32 {
    let bits = bits.clamp(1, 32);
    let max = (1i64 << (bits - 1)) - 1;
    let min = -(1i64 << (bits - 1));
    // The clamp keeps the value inside the i32 range, so the cast is exact.
    x.clamp(min, max) as i32
}

/// Saturates an `i32` to int8.
pub fn sat_i8(x: i32) -> i8 {
    x.clamp(i8::MIN as i32, i8::MAX as i32) as i8
}

/// The mvin scaler (docs section 2): `rne_int(f32(x) * scale)` saturated to [-128, 127]; NaN gives 0.
/// The product is a single IEEE binary32 multiplication (round to nearest even).
pub fn mvin_scale_i8(x: i8, scale_bits: u32) -> i8 {
    let f = (x as f32) * f32::from_bits(scale_bits);
    // Saturating through i64 handles +-inf (and anything beyond the int8 range) uniformly.
    rne_to_i64(f).clamp(i8::MIN as i64, i8::MAX as i64) as i8
}

/// The accumulator read-out conversion for mvout with read_full = 0 (docs section 2):
/// `v = relu(x)` if `act_relu`; `y = rne_int_sat32(f32(v) * scale)`; then clipped to int8.
///
/// `v as f32` rounds |v| > 2^24 to the nearest binary32 (ties to even), which is what the hardware's
/// int-to-float converter does, so it is intended.
pub fn acc_scale_to_i8(x: i32, act_relu: bool, scale_bits: u32) -> i8 {
    sat_i8(acc_scale_i32(x, act_relu, scale_bits))
}

/// The accumulator scaler before the final int8 clip: `rne_int_sat32(f32(relu?(x)) * scale)`.
pub fn acc_scale_i32(x: i32, act_relu: bool, scale_bits: u32) -> i32 {
    let v = if act_relu { x.max(0) } else { x };
    rne_to_i32_sat((v as f32) * f32::from_bits(scale_bits))
}

/// The OS rounding right shift (docs section 3, Gemmini's `ROUNDING_RIGHT_SHIFT`):
/// `(x >> s) + (bit s-1 of x) & ((bits below s-1 nonzero) | bit s of x)` with an arithmetic shift and
/// `s = shift & 31`; `s = 0` returns `x`. This is round-half-to-even on the shifted-out bits.
pub fn rshift_rne(x: i32, shift: u32) -> i32 {
    let s = shift & 31;
    if s == 0 {
        return x;
    }
    let shifted = x >> s;
    let round_bit = (x >> (s - 1)) & 1;
    // Bits strictly below s-1; for s = 1 there are none.
    let below_mask = (1i32 << (s - 1)) - 1;
    let sticky = (x & below_mask != 0) as i32;
    let lsb = shifted & 1;
    // shifted <= i32::MAX >> 1 when s >= 1, so adding 1 cannot overflow.
    shifted + (round_bit & (sticky | lsb))
}

/// The one NaN the binary32 datapath produces (any NaN result is replaced by it; the RTL does the same).
pub const FP32_QNAN: u32 = 0x7fc0_0000;

fn fp32_bits(f: f32) -> u32 {
    if f.is_nan() {
        FP32_QNAN
    } else {
        f.to_bits()
    }
}

/// `a * b + c` with one rounding (IEEE fusedMultiplyAdd, round to nearest even, subnormals kept).
pub fn fp32_fma(a: u32, b: u32, c: u32) -> u32 {
    fp32_bits(f32::from_bits(a).mul_add(f32::from_bits(b), f32::from_bits(c)))
}

/// IEEE binary32 addition, round to nearest even.
pub fn fp32_add(a: u32, b: u32) -> u32 {
    fp32_bits(f32::from_bits(a) + f32::from_bits(b))
}

/// IEEE binary32 multiplication, round to nearest even.
pub fn fp32_mul(a: u32, b: u32) -> u32 {
    fp32_bits(f32::from_bits(a) * f32::from_bits(b))
}

/// ReLU on binary32: `x` if `x > 0`, else +0 (so -0 and NaN give +0).
pub fn fp32_relu(x: u32) -> u32 {
    if f32::from_bits(x) > 0.0 {
        x
    } else {
        0
    }
}

/// The element arithmetic of a configuration. Elements are held as `i32`: an int8 sign-extended, or the
/// bits of a binary32. Each method is the Rust twin of an `e_*` function of rtl/gemmini_pkg.sv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datapath {
    /// int8 inputs, int32 accumulation.
    Int8,
    /// binary32 everywhere.
    Fp32,
}

impl Datapath {
    pub fn of(cfg: &crate::sim::config::HwConfig) -> Datapath {
        if cfg.is_fp32() {
            Datapath::Fp32
        } else {
            Datapath::Int8
        }
    }

    /// Bytes of an input element in DRAM.
    pub fn elem_bytes(self) -> usize {
        match self {
            Datapath::Int8 => 1,
            Datapath::Fp32 => 4,
        }
    }

    /// An input element from its little-endian DRAM bytes (`elem_bytes` of them).
    pub fn elem_from_le(self, b: &[u8]) -> i32 {
        match self {
            Datapath::Int8 => b[0] as i8 as i32,
            Datapath::Fp32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }

    /// Writes an input element as little-endian DRAM bytes.
    pub fn elem_to_le(self, x: i32, out: &mut [u8]) {
        match self {
            Datapath::Int8 => out[0] = x as u8,
            Datapath::Fp32 => out[..4].copy_from_slice(&x.to_le_bytes()),
        }
    }

    /// One PE step, `s + a * w`: wrapping int32, or one fused multiply-add.
    pub fn mac(self, s: i32, a: i32, w: i32) -> i32 {
        match self {
            Datapath::Int8 => s.wrapping_add(a.wrapping_mul(w)),
            Datapath::Fp32 => fp32_fma(a as u32, w as u32, s as u32) as i32,
        }
    }

    /// Accumulator addition: wrapping int32, or binary32 addition.
    pub fn acc_add(self, a: i32, b: i32) -> i32 {
        match self {
            Datapath::Int8 => a.wrapping_add(b),
            Datapath::Fp32 => fp32_add(a as u32, b as u32) as i32,
        }
    }

    /// The mvin scaler; a scale of exactly 1.0 passes the element through unchanged.
    pub fn mvin_scale(self, x: i32, scale: u32) -> i32 {
        match self {
            Datapath::Int8 => mvin_scale_i8(x as i8, scale) as i32,
            Datapath::Fp32 if scale == crate::sim::isa::SCALE_ONE => x,
            Datapath::Fp32 => fp32_mul(x as u32, scale) as i32,
        }
    }

    /// Accumulator read-out to an input element: optional ReLU, then acc_scale (1.0 passes through).
    pub fn acc_readout(self, x: i32, relu: bool, scale: u32) -> i32 {
        match self {
            Datapath::Int8 => acc_scale_to_i8(x, relu, scale) as i32,
            Datapath::Fp32 => {
                let v = if relu { fp32_relu(x as u32) } else { x as u32 };
                if scale == crate::sim::isa::SCALE_ONE {
                    v as i32
                } else {
                    fp32_mul(v, scale) as i32
                }
            }
        }
    }

    /// An array result written to the scratchpad: int8 saturation then ReLU, or ReLU on binary32.
    pub fn sp_result(self, x: i32, relu: bool) -> i32 {
        match self {
            Datapath::Int8 => {
                let y = sat_i8(x) as i32;
                if relu {
                    y.max(0)
                } else {
                    y
                }
            }
            Datapath::Fp32 if relu => fp32_relu(x as u32) as i32,
            Datapath::Fp32 => x,
        }
    }

    /// An OS result on its way out: rounding right shift and the in-array clip, or a division by
    /// 2^shift (a multiply by the exact 2^-shift) for binary32.
    pub fn os_out(self, x: i32, shift: u32, psum_bits: u32) -> i32 {
        let s = shift & 31;
        match self {
            Datapath::Int8 => clip_bits(rshift_rne(x, s) as i64, psum_bits),
            Datapath::Fp32 if s == 0 => x,
            Datapath::Fp32 => fp32_mul(x as u32, (127 - s) << 23) as i32,
        }
    }

    /// Max pooling: does `v` replace the running maximum `m` (signed int8, or IEEE `>`)?
    pub fn gt(self, v: i32, m: i32) -> bool {
        match self {
            Datapath::Int8 => (v as i8) > (m as i8),
            Datapath::Fp32 => f32::from_bits(v as u32) > f32::from_bits(m as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::isa::SCALE_ONE;

    const HALF: u32 = 0x3f00_0000; // 0.5
    const TWO: u32 = 0x4000_0000; // 2.0
    const NEG_ONE: u32 = 0xbf80_0000; // -1.0
    const NAN: u32 = 0x7fc0_0000;
    const INF: u32 = 0x7f80_0000;
    const NEG_INF: u32 = 0xff80_0000;

    #[test]
    fn rne_ties_go_to_even() {
        assert_eq!(rne_to_i64(2.5), 2);
        assert_eq!(rne_to_i64(3.5), 4);
        assert_eq!(rne_to_i64(-2.5), -2);
        assert_eq!(rne_to_i64(-3.5), -4);
        assert_eq!(rne_to_i64(0.5), 0);
        assert_eq!(rne_to_i64(-0.5), 0);
        assert_eq!(rne_to_i64(1.5), 2);
        assert_eq!(rne_to_i64(2.4999998), 2);
        assert_eq!(rne_to_i64(2.5000002), 3);
        assert_eq!(rne_to_i64(f32::NAN), 0);
        assert_eq!(rne_to_i64(f32::INFINITY), i64::MAX);
        assert_eq!(rne_to_i64(f32::NEG_INFINITY), i64::MIN);
        assert_eq!(rne_to_i32_sat(3.0e9), i32::MAX);
        assert_eq!(rne_to_i32_sat(-3.0e9), i32::MIN);
        assert_eq!(rne_to_i32_sat(f32::NAN), 0);
    }

    #[test]
    fn clip_and_saturate() {
        assert_eq!(clip_bits(524_287, 20), 524_287);
        assert_eq!(clip_bits(524_288, 20), 524_287);
        assert_eq!(clip_bits(-524_288, 20), -524_288);
        assert_eq!(clip_bits(-524_289, 20), -524_288);
        assert_eq!(clip_bits(i64::MAX, 32), i32::MAX);
        assert_eq!(clip_bits(i64::MIN, 32), i32::MIN);
        assert_eq!(clip_bits(5, 1), 0);
        assert_eq!(clip_bits(-5, 1), -1);
        assert_eq!(clip_bits(200, 8), 127);
        assert_eq!(sat_i8(128), 127);
        assert_eq!(sat_i8(-129), -128);
        assert_eq!(sat_i8(-7), -7);
        assert_eq!(sat_i8(i32::MIN), -128);
    }

    #[test]
    fn mvin_scale_identity_on_every_int8() {
        for x in i8::MIN..=i8::MAX {
            assert_eq!(mvin_scale_i8(x, SCALE_ONE), x);
        }
    }

    #[test]
    fn mvin_scale_rounding_and_saturation() {
        // 5 * 0.5 = 2.5 -> 2, 7 * 0.5 = 3.5 -> 4, -5 * 0.5 = -2.5 -> -2, -7 * 0.5 = -3.5 -> -4.
        assert_eq!(mvin_scale_i8(5, HALF), 2);
        assert_eq!(mvin_scale_i8(7, HALF), 4);
        assert_eq!(mvin_scale_i8(-5, HALF), -2);
        assert_eq!(mvin_scale_i8(-7, HALF), -4);
        assert_eq!(mvin_scale_i8(1, HALF), 0);
        assert_eq!(mvin_scale_i8(3, HALF), 2);
        // Saturation.
        assert_eq!(mvin_scale_i8(64, TWO), 127);
        assert_eq!(mvin_scale_i8(63, TWO), 126);
        assert_eq!(mvin_scale_i8(-64, TWO), -128);
        assert_eq!(mvin_scale_i8(-65, TWO), -128);
        assert_eq!(mvin_scale_i8(-128, NEG_ONE), 127);
        assert_eq!(mvin_scale_i8(127, NEG_ONE), -127);
        // NaN and infinities.
        assert_eq!(mvin_scale_i8(3, NAN), 0);
        assert_eq!(mvin_scale_i8(3, INF), 127);
        assert_eq!(mvin_scale_i8(-3, INF), -128);
        assert_eq!(mvin_scale_i8(3, NEG_INF), -128);
        // 0 * inf is NaN in IEEE arithmetic, so the result is 0.
        assert_eq!(mvin_scale_i8(0, INF), 0);
        // A scale of 1/3 (0x3eaaaaab): 3 * 0.33333334 = 1.0000000 (RNE product) -> 1; 5/3 -> 2.
        assert_eq!(mvin_scale_i8(3, 0x3eaa_aaab), 1);
        assert_eq!(mvin_scale_i8(5, 0x3eaa_aaab), 2);
    }

    #[test]
    fn acc_scale_readout() {
        assert_eq!(acc_scale_to_i8(100, false, SCALE_ONE), 100);
        assert_eq!(acc_scale_to_i8(1000, false, SCALE_ONE), 127);
        assert_eq!(acc_scale_to_i8(-1000, false, SCALE_ONE), -128);
        assert_eq!(acc_scale_to_i8(-1000, true, SCALE_ONE), 0);
        assert_eq!(acc_scale_to_i8(-5, true, HALF), 0);
        assert_eq!(acc_scale_to_i8(5, false, HALF), 2);
        assert_eq!(acc_scale_to_i8(7, false, HALF), 4);
        assert_eq!(acc_scale_to_i8(-5, false, HALF), -2);
        assert_eq!(acc_scale_to_i8(-7, false, HALF), -4);
        // A negative scale after ReLU: relu(-10) = 0 -> 0; relu(10) * -1 = -10.
        assert_eq!(acc_scale_to_i8(-10, true, NEG_ONE), 0);
        assert_eq!(acc_scale_to_i8(10, true, NEG_ONE), -10);
        // NaN gives 0, infinities saturate (through int32, then int8).
        assert_eq!(acc_scale_to_i8(10, false, NAN), 0);
        assert_eq!(acc_scale_i32(10, false, INF), i32::MAX);
        assert_eq!(acc_scale_i32(-10, false, INF), i32::MIN);
        assert_eq!(acc_scale_to_i8(-10, false, INF), -128);
        // 0 * inf = NaN -> 0.
        assert_eq!(acc_scale_i32(0, false, INF), 0);
        // f32(2^24 + 1) rounds to 2^24 (ties to even), so the identity scale returns 2^24.
        assert_eq!(acc_scale_i32((1 << 24) + 1, false, SCALE_ONE), 1 << 24);
        // f32(2^24 + 3) rounds up to 2^24 + 4 (tie, 2^24 + 4 is even in the binary32 grid).
        assert_eq!(
            acc_scale_i32((1 << 24) + 3, false, SCALE_ONE),
            (1 << 24) + 4
        );
        // i32::MAX converts to 2^31, which saturates back to i32::MAX.
        assert_eq!(acc_scale_i32(i32::MAX, false, SCALE_ONE), i32::MAX);
        assert_eq!(acc_scale_i32(i32::MIN, false, SCALE_ONE), i32::MIN);
    }

    #[test]
    fn rounding_right_shift_known_cases() {
        assert_eq!(rshift_rne(5, 1), 2); // 2.5 -> 2
        assert_eq!(rshift_rne(7, 1), 4); // 3.5 -> 4
        assert_eq!(rshift_rne(-5, 1), -2); // -2.5 -> -2
        assert_eq!(rshift_rne(-7, 1), -4); // -3.5 -> -4
        assert_eq!(rshift_rne(6, 2), 2); // 1.5 -> 2
        assert_eq!(rshift_rne(10, 2), 2); // 2.5 -> 2
        assert_eq!(rshift_rne(11, 2), 3); // 2.75 -> 3
        assert_eq!(rshift_rne(9, 2), 2); // 2.25 -> 2
        assert_eq!(rshift_rne(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rshift_rne(-10, 2), -2); // -2.5 -> -2
        assert_eq!(rshift_rne(-11, 2), -3); // -2.75 -> -3
        assert_eq!(rshift_rne(123, 0), 123);
        assert_eq!(rshift_rne(123, 32), 123); // only the 5 LSBs count
        assert_eq!(rshift_rne(i32::MAX, 31), 1); // 0.99999... -> 1
        assert_eq!(rshift_rne(i32::MIN, 31), -1);
        assert_eq!(rshift_rne(1 << 30, 31), 0); // exactly 0.5 -> 0 (even)
        assert_eq!(rshift_rne(3 << 29, 31), 1); // 0.75 -> 1
        assert_eq!(rshift_rne(i32::MAX, 1), 1 << 30); // 2^30 - 0.5 -> 2^30 (even)
    }

    #[test]
    fn rounding_right_shift_matches_exact_rne() {
        // Against an exact rational reference: x / 2^s rounded half to even, for many x and every s.
        let mut xs: Vec<i32> = (-1000..=1000).collect();
        xs.extend([
            i32::MIN,
            i32::MIN + 1,
            i32::MAX,
            i32::MAX - 1,
            1 << 20,
            -(1 << 20),
            0x1234_5678,
        ]);
        for &x in &xs {
            for s in 1..32u32 {
                let d = 1i64 << s;
                let q = (x as i64).div_euclid(d);
                let r = (x as i64).rem_euclid(d);
                let want = match (2 * r).cmp(&d) {
                    std::cmp::Ordering::Less => q,
                    std::cmp::Ordering::Greater => q + 1,
                    std::cmp::Ordering::Equal => q + (q & 1),
                };
                assert_eq!(rshift_rne(x, s) as i64, want, "x={x} s={s}");
            }
        }
    }

    #[test]
    fn fp32_datapath_rules() {
        let dp = Datapath::Fp32;
        let f = |x: f32| x.to_bits() as i32;
        let snan = 0x7f80_0001u32 as i32;
        // One rounding per multiply-add: (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly when fused; a separate
        // multiply would round 1 + 2^-11 + 2^-24 (a tie) to 1 + 2^-11 first and give 2^-11.
        let a = f(1.0 + 2f32.powi(-12));
        assert_eq!(dp.mac(f(-1.0), a, a), f(2f32.powi(-11) + 2f32.powi(-24)));
        assert_ne!(f(2f32.powi(-11) + 2f32.powi(-24)), f(2f32.powi(-11)));
        // Exact cancellation gives +0; -0 + -0 stays -0.
        assert_eq!(dp.acc_add(f(1.5), f(-1.5)), 0);
        assert_eq!(dp.acc_add(f(-0.0), f(-0.0)), f(-0.0));
        // NaNs come out canonical; a 1.0 scale passes even a signalling NaN through unchanged.
        assert_eq!(dp.acc_add(snan, f(1.0)) as u32, FP32_QNAN);
        assert_eq!(dp.mac(f(0.0), f(f32::INFINITY), f(0.0)) as u32, FP32_QNAN);
        assert_eq!(dp.mvin_scale(snan, crate::sim::isa::SCALE_ONE), snan);
        assert_eq!(dp.mvin_scale(f(3.0), f(0.5) as u32), f(1.5));
        // ReLU: -0 and NaN give +0; read-out applies ReLU, then the scale.
        assert_eq!(dp.sp_result(f(-0.0), true), 0);
        assert_eq!(dp.sp_result(FP32_QNAN as i32, true), 0);
        assert_eq!(dp.sp_result(f(-2.0), false), f(-2.0));
        assert_eq!(dp.acc_readout(f(-3.0), true, f(2.0) as u32), 0);
        assert_eq!(dp.acc_readout(f(3.0), true, f(2.0) as u32), f(6.0));
        // OS results are divided by 2^shift, rounding only in the subnormal range; no int clip.
        assert_eq!(dp.os_out(f(3.0), 1, 20), f(1.5));
        assert_eq!(dp.os_out(f(1e9), 0, 20), f(1e9));
        assert_eq!(dp.os_out(0x0000_0003, 1, 20), 0x0000_0002); // 1.5 ulp -> 2 ulp (ties to even)
                                                                // Pooling compares as IEEE floats: -1 < +0, NaN never wins.
        assert!(dp.gt(f(0.0), f(-1.0)));
        assert!(!dp.gt(FP32_QNAN as i32, f(-1.0)));
        assert!(!dp.gt(f(-0.0), f(0.0)));
        // DRAM bytes round-trip.
        let mut b = [0u8; 4];
        dp.elem_to_le(f(-2.5), &mut b);
        assert_eq!(dp.elem_from_le(&b), f(-2.5));
    }

    #[test]
    fn int8_datapath_is_the_integer_arithmetic() {
        let dp = Datapath::Int8;
        assert_eq!(dp.mac(5, -3, 4), -7);
        assert_eq!(dp.acc_add(i32::MAX, 1), i32::MIN);
        assert_eq!(dp.sp_result(300, false), 127);
        assert_eq!(dp.sp_result(-300, true), 0);
        assert_eq!(dp.os_out(7, 1, 20), 4);
        assert_eq!(dp.os_out(1 << 25, 0, 20), (1 << 19) - 1);
        assert!(dp.gt(1, -1) && !dp.gt(-128, 127));
    }
}
