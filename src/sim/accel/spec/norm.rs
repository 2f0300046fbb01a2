//! Gemmini's normalizer in the functional model (docs/accelerator.md section 2.2): the I-BERT integer
//! activations iGELU and iexp, and the per-stat-id running statistics that LayerNorm and Softmax build
//! over a row with a sequence of normalizer mvouts (Gemmini's `Normalizer.scala` and
//! `AccumulatorScale.scala`; `gemmini.h` `gemmini_config_norm`). Every function is total and uses
//! Gemmini's widths: int32 arithmetic wraps, the element count is 16 bits, and the reciprocals are IEEE
//! binary32 divisions rounded to nearest even. `rtl/gemmini_normalizer.sv` and the store controller
//! implement the same arithmetic; the unit tests below compare it with a direct host computation.

use crate::sim::accel::arith::{acc_scale_to_i8, fp32_mul};
use crate::sim::isa::{
    norm_cmd, ConfigNorm, ACT_IGELU, ACT_LAYERNORM, ACT_RELU, ACT_SOFTMAX, NORM_STAT_IDS,
};

/// iGELU (`AccumulatorScale.igelu`): `q * (sign(q) * (qc + (min(|q|, -qb) + qb)^2) + qc)`, every step
/// wrapped to int32 as Gemmini's `withWidthOf` does.
pub fn igelu(q: i32, qb: i32, qc: i32) -> i32 {
    let sign: i32 = if q < 0 { -1 } else { 1 };
    let abs = if q < 0 { 0i32.wrapping_sub(q) } else { q };
    let neg_qb = 0i32.wrapping_sub(qb);
    let clipped = if abs > neg_qb { neg_qb } else { abs };
    let t = clipped.wrapping_add(qb);
    let poly = qc.wrapping_add(t.wrapping_mul(t));
    let erf = sign.wrapping_mul(poly);
    q.wrapping_mul(erf.wrapping_add(qc))
}

/// iexp (I-BERT's integer exponential, Gemmini's `AccumulatorScale.iexp` as released in v0.7 through
/// June 2024): `z = ((-q) * qln2_inv) >> 16` (the 64-bit product, bits 16..47), `qp = q + z*qln2`,
/// `poly = qc + (qp + qb)^2`, and the result `poly >> z` as a logical shift of the 32 bits, where a `z` with
/// any of bits 5..15 set shifts by 32 (gives 0). Gemmini's master since July 2024 evaluates the iGELU
/// polynomial here instead (an evident copy slip that fails Gemmini's own softmax test), so this follows
/// the released unit and gemmini.h's reference.
pub fn iexp(q: i32, qln2: i32, qln2_inv: i32, qb: i32, qc: i32) -> i32 {
    let neg_q = 0i32.wrapping_sub(q);
    let z = (((neg_q as i64) * (qln2_inv as i64)) as u64 >> 16) as u32 as i32;
    let shift = if (z as u32 >> 5) & 0x7ff != 0 {
        32
    } else {
        z as u32
    };
    let qp = q.wrapping_add(z.wrapping_mul(qln2));
    let t = qp.wrapping_add(qb);
    let poly = qc.wrapping_add(t.wrapping_mul(t));
    if shift >= 32 {
        0
    } else {
        ((poly as u32) >> shift) as i32
    }
}

/// The normalizer's integer division `sum / count` (Gemmini converts both to floats with 32-bit
/// significands, divides and converts back, all rounding toward zero): C's truncating division, with
/// the float converter's results for a zero count: +inf (sum > 0) and NaN (sum = 0) give `i32::MAX`,
/// -inf gives `i32::MIN`.
pub fn div_trunc(sum: i32, count: u16) -> i32 {
    if count == 0 {
        return if sum < 0 { i32::MIN } else { i32::MAX };
    }
    // |sum / count| <= 2^31 / 1 fits in i64, and the only i32 overflow (MIN / -1) cannot occur.
    ((sum as i64) / (count as i64)) as i32
}

/// The integer square root `floor(sqrt(x))` of Gemmini's `IntSqrt` (x read as unsigned 32 bits).
pub fn isqrt(x: u32) -> u32 {
    // Digit-by-digit, two bits of x per result bit, as the hardware does.
    let (mut rem, mut root) = (0u64, 0u64);
    for i in (0..16).rev() {
        rem = (rem << 2) | ((x as u64 >> (2 * i)) & 3);
        let trial = (root << 2) | 1;
        root <<= 1;
        if rem >= trial {
            rem -= trial;
            root |= 1;
        }
    }
    root as u32
}

/// One stat id's running state (Gemmini's `Normalizer` `Stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub sum: i32,
    pub count: u16,
    pub running_max: i32,
    pub max: i32,
    pub mean: i32,
    /// binary32 bits: the scaled reciprocal of the standard deviation.
    pub inv_stddev: u32,
    /// binary32 bits: 127 / sum of exponentials, scaled.
    pub inv_sum_exp: u32,
}

impl Stat {
    const RESET: Stat = Stat {
        sum: 0,
        count: 0,
        running_max: i32::MIN,
        max: i32::MIN,
        mean: 0,
        inv_stddev: 0,
        inv_sum_exp: 0,
    };

    /// Clears what a finished statistic or a written row clears.
    fn restart(&mut self) {
        self.sum = 0;
        self.count = 0;
        self.running_max = i32::MIN;
    }
}

/// The normalizer state the store path holds: constants and activation msb from config_norm, the stat id
/// later mvouts use, and the stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalizer {
    pub qb: i32,
    pub qc: i32,
    pub qln2: i32,
    pub qln2_inv: i32,
    /// Bit 2 of the store activation (config_st sets bits 1:0 and clears this one).
    pub act_msb: bool,
    pub stat_id: usize,
    pub stats: [Stat; NORM_STAT_IDS as usize],
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            qb: 0,
            qc: 0,
            qln2: 0,
            qln2_inv: 0,
            act_msb: false,
            stat_id: 0,
            stats: [Stat::RESET; NORM_STAT_IDS as usize],
        }
    }
}

impl Normalizer {
    /// config_norm: the stat id always; constants and act_msb unless `set_stats_id_only`.
    pub fn config(&mut self, c: &ConfigNorm) {
        if !c.set_stats_id_only {
            self.qb = c.qb as i32;
            self.qc = c.qc as i32;
            if c.q_const_type {
                self.qln2_inv = c.q_const as i32;
            } else {
                self.qln2 = c.q_const as i32;
            }
            self.act_msb = c.act_msb;
        }
        self.stat_id = c.stat_id as usize % NORM_STAT_IDS as usize;
    }

    /// The 3-bit store activation given config_st's two bits.
    pub fn act(&self, st_act: u8) -> u8 {
        (st_act & 3) | (self.act_msb as u8) << 2
    }

    /// An accumulator value on its way out (RESET): the activation (ReLU, `x - mean` for LayerNorm, iGELU,
    /// iexp(`x - max`) for Softmax; 5-7 are none), then the accumulator scaler with config_st's scale, or
    /// the stat's `inv_stddev` (LayerNorm) or `inv_sum_exp` (Softmax), then the int8 clip.
    pub fn readout(&self, x: i32, act: u8, scale: u32) -> i8 {
        let s = &self.stats[self.stat_id];
        let (v, scale) = match act {
            ACT_RELU => (x.max(0), scale),
            ACT_LAYERNORM => (x.wrapping_sub(s.mean), s.inv_stddev),
            ACT_IGELU => (igelu(x, self.qb, self.qc), scale),
            ACT_SOFTMAX => (
                iexp(
                    x.wrapping_sub(s.max),
                    self.qln2,
                    self.qln2_inv,
                    self.qb,
                    self.qc,
                ),
                s.inv_sum_exp,
            ),
            _ => (x, scale),
        };
        acc_scale_to_i8(v, false, scale)
    }

    /// One block of an accumulator row (its first `data.len()` elements) passing the normalizer with
    /// command `cmd` on the current stat id; `scale` is config_st's scale, which the finishing commands
    /// fold into the reciprocal. RESET is applied after the block was written out.
    pub fn update(&mut self, cmd: u32, data: &[i32], scale: u32) {
        let (qln2, qln2_inv, qb, qc) = (self.qln2, self.qln2_inv, self.qb, self.qc);
        let s = &mut self.stats[self.stat_id];
        s.count = s.count.wrapping_add(data.len() as u16);
        match cmd {
            norm_cmd::SUM | norm_cmd::MEAN => {
                s.sum = data.iter().fold(s.sum, |a, &d| a.wrapping_add(d));
                if cmd == norm_cmd::MEAN {
                    s.mean = div_trunc(s.sum, s.count);
                    s.restart();
                }
            }
            norm_cmd::VARIANCE | norm_cmd::INV_STDDEV => {
                let mean = s.mean;
                s.sum = data.iter().fold(s.sum, |a, &d| {
                    let e = d.wrapping_sub(mean);
                    a.wrapping_add(e.wrapping_mul(e))
                });
                if cmd == norm_cmd::INV_STDDEV {
                    let variance = div_trunc(s.sum, s.count);
                    s.restart();
                    let sd = match isqrt(variance as u32) {
                        0 => 1,
                        r => r,
                    };
                    // sd < 2^16 is exact in binary32; the division rounds to nearest even.
                    let inv = (1.0f32 / sd as f32).to_bits();
                    s.inv_stddev = fp32_mul(inv, scale);
                }
            }
            norm_cmd::MAX => {
                let m = data.iter().copied().fold(i32::MIN, i32::max);
                s.running_max = s.running_max.max(m);
                s.max = s.running_max;
            }
            norm_cmd::SUM_EXP | norm_cmd::INV_SUM_EXP => {
                let max = s.max;
                s.sum = data.iter().fold(s.sum, |a, &d| {
                    a.wrapping_add(iexp(d.wrapping_sub(max), qln2, qln2_inv, qb, qc))
                });
                if cmd == norm_cmd::INV_SUM_EXP {
                    // `sum as f32` rounds to nearest even, as Gemmini's int-to-float converter; 127/0 is
                    // +inf, which the scaler then saturates.
                    let inv = (127.0f32 / s.sum as f32).to_bits();
                    s.inv_sum_exp = fp32_mul(inv, scale);
                }
            }
            // RESET (0): the row was written; clear the running state.
            _ => s.restart(),
        }
    }

    /// A max-pooling mvout from the accumulator is a RESET of the current stat id.
    pub fn pooled_reset(&mut self) {
        self.stats[self.stat_id].restart();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::isa::SCALE_ONE;

    /// Host GELU through I-BERT's polynomial in exact integers (no wrapping for these ranges).
    fn igelu_host(q: i64, qb: i64, qc: i64) -> i64 {
        let sign = if q < 0 { -1 } else { 1 };
        let c = q.abs().min(-qb);
        q * (sign * ((c + qb) * (c + qb) + qc) + qc)
    }

    #[test]
    fn igelu_matches_the_exact_polynomial() {
        // gemmini.h's constants for bert_scale 0.05: qb = -1.769 / (S / sqrt 2), qc = 1 / (-0.2888 S^2 / 2).
        let (qb, qc) = (-50i32, -2770i32);
        for q in -3000..3000i32 {
            assert_eq!(
                igelu(q, qb, qc) as i64,
                igelu_host(q as i64, qb as i64, qc as i64),
                "q = {q}"
            );
        }
        // Wrapping, not saturating: a large negative q overflows the product as the hardware's int32 does.
        let q = -(1 << 20);
        assert_eq!(
            igelu(q, qb, qc),
            igelu_host(q as i64, qb as i64, qc as i64) as i32
        );
    }

    /// gemmini.h's CPU reference of iexp (its `tiled_matmul` softmax pass 2) in i64.
    fn iexp_host(q: i64, qln2: i64, qln2_inv: i64, qb: i64, qc: i64) -> i64 {
        let z = (-q * qln2_inv) >> 16;
        let qp = q + z * qln2;
        let e = (qp + qb) * (qp + qb) + qc;
        if z >= 32 {
            0
        } else {
            e >> z
        }
    }

    #[test]
    fn iexp_matches_gemmini_reference() {
        // gemmini.h's constants for bert_scale 0.05.
        let (qln2, qb, qc) = (13, 27, 383);
        let qln2_inv = 65536 / qln2;
        for q in -600i64..=0 {
            let got = iexp(q as i32, qln2 as i32, qln2_inv as i32, qb as i32, qc as i32) as i64;
            assert_eq!(got, iexp_host(q, qln2, qln2_inv, qb, qc), "q = {q}");
        }
        // exp(0) scaled: qb^2 + qc; and far below the range the shift saturates to 0.
        assert_eq!(iexp(0, 13, 5041, 27, 383), 27 * 27 + 383);
        assert_eq!(iexp(-1_000_000, 13, 5041, 27, 383), 0);
    }

    #[test]
    fn division_and_square_root() {
        assert_eq!(div_trunc(7, 2), 3);
        assert_eq!(div_trunc(-7, 2), -3);
        assert_eq!(div_trunc(i32::MIN, 1), i32::MIN);
        assert_eq!(div_trunc(5, 0), i32::MAX);
        assert_eq!(div_trunc(0, 0), i32::MAX);
        assert_eq!(div_trunc(-5, 0), i32::MIN);
        for x in [
            0u32,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            99,
            100,
            65535,
            65536,
            u32::MAX,
            0x8000_0000,
        ] {
            let r = isqrt(x) as u64;
            assert!(
                r * r <= x as u64 && (r + 1) * (r + 1) > x as u64,
                "isqrt({x}) = {r}"
            );
        }
    }

    /// LayerNorm of one row of 40 elements in blocks of 16, 16, 8, through the command sequence gemmini.h
    /// issues, against a host computation of `round((x - mean) / stddev)` with gemmini.h's integer mean,
    /// variance and square root.
    #[test]
    fn layernorm_sequence_matches_host() {
        let row: Vec<i32> = (0..40).map(|i| (i * 37 % 23) * 9 - 100).collect();
        let blocks = [&row[0..16], &row[16..32], &row[32..40]];
        let mut n = Normalizer::default();
        for (cmd_mid, cmd_last) in [
            (norm_cmd::SUM, norm_cmd::MEAN),
            (norm_cmd::VARIANCE, norm_cmd::INV_STDDEV),
        ] {
            for (i, b) in blocks.iter().enumerate() {
                let cmd = if i == 2 { cmd_last } else { cmd_mid };
                n.update(cmd, b, SCALE_ONE);
            }
        }
        let out: Vec<i8> = row
            .iter()
            .map(|&x| n.readout(x, ACT_LAYERNORM, SCALE_ONE))
            .collect();
        let mean = row.iter().sum::<i32>() / 40;
        let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<i32>() / 40;
        let sd = (var as f64).sqrt().floor() as i32;
        for (x, o) in row.iter().zip(&out) {
            let want = ((x - mean) as f64 / sd as f64)
                .round_ties_even()
                .clamp(-128.0, 127.0);
            assert_eq!(*o as f64, want, "x = {x}, mean {mean}, sd {sd}");
        }
        // The finishing commands cleared the running state; RESET keeps the results.
        n.update(norm_cmd::RESET, &row[0..16], SCALE_ONE);
        assert_eq!((n.stats[0].sum, n.stats[0].count), (0, 0));
        assert_eq!(n.stats[0].mean, mean);
    }

    /// Softmax of one row through MAX, SUM_EXP / INV_SUM_EXP, then the read-out, against gemmini.h's
    /// integer reference (max, iexp, 127 / sum in float, rounded to nearest even).
    #[test]
    fn softmax_sequence_matches_host() {
        let row: Vec<i32> = (0..24).map(|i| (i * 53 % 31) - 15).collect();
        let mut n = Normalizer::default();
        n.config(&ConfigNorm {
            q_const: 13,
            q_const_type: false,
            act_msb: true,
            qb: 27,
            qc: 383,
            ..ConfigNorm::default()
        });
        n.config(&ConfigNorm {
            q_const: 5041,
            q_const_type: true,
            act_msb: true,
            qb: 27,
            qc: 383,
            ..ConfigNorm::default()
        });
        assert_eq!(n.act(0), ACT_SOFTMAX);
        n.update(norm_cmd::MAX, &row[..16], SCALE_ONE);
        n.update(norm_cmd::MAX, &row[16..], SCALE_ONE);
        n.update(norm_cmd::SUM_EXP, &row[..16], SCALE_ONE);
        n.update(norm_cmd::INV_SUM_EXP, &row[16..], SCALE_ONE);
        let max = *row.iter().max().unwrap_or(&0) as i64;
        let e: Vec<i64> = row
            .iter()
            .map(|&x| iexp_host(x as i64 - max, 13, 5041, 27, 383))
            .collect();
        let factor = 127.0f32 / e.iter().sum::<i64>() as f32;
        for (x, ex) in row.iter().zip(&e) {
            let want = ((*ex as f32) * factor)
                .round_ties_even()
                .clamp(-128.0, 127.0);
            assert_eq!(
                n.readout(*x, ACT_SOFTMAX, SCALE_ONE) as f32,
                want,
                "x = {x}"
            );
        }
    }

    #[test]
    fn config_norm_fields_and_stat_ids() {
        let mut n = Normalizer::default();
        n.config(&ConfigNorm {
            q_const: 7,
            qb: 3,
            qc: 4,
            act_msb: true,
            stat_id: 3,
            ..ConfigNorm::default()
        });
        assert_eq!((n.qln2, n.qb, n.qc, n.stat_id), (7, 3, 4, 1));
        // set_stats_id_only keeps constants and act_msb.
        n.config(&ConfigNorm {
            set_stats_id_only: true,
            stat_id: 0,
            ..ConfigNorm::default()
        });
        assert_eq!((n.qln2, n.qb, n.act_msb, n.stat_id), (7, 3, true, 0));
        // A zero standard deviation falls back to 1 (mean 0, two zeros).
        n.update(norm_cmd::INV_STDDEV, &[0, 0], SCALE_ONE);
        assert_eq!(n.stats[0].inv_stddev, 1.0f32.to_bits());
        // A zero count (the 16-bit count wrapped) divides to i32::MAX: sqrt 46340.
        n.update(norm_cmd::INV_STDDEV, &[], SCALE_ONE);
        assert_eq!(n.stats[0].inv_stddev, (1.0f32 / 46340.0).to_bits());
    }
}
