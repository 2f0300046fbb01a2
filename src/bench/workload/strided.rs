//! The strided-convolution workload kind: a convolution as Gemmini's `tiled_conv_auto` takes it (NHWC
//! input without a pre-padded border, any square kernel, stride and zero padding, optional ReLU, an output
//! scale, and optionally a max-pooling window fused into the output), with its seeded inputs and an exact
//! host reference. ResNet-50's 7x7 stride-2 stem with its 3x3 stride-2 max-pool, its 3x3 stride-2
//! convolutions and its 1x1 stride-2 downsampling shortcuts are of this kind (`resnet50.rs` lists them).
//!
//! The reference follows the accelerator's contract (docs/accelerator.md section 2): int32 accumulation
//! from the bias, then the accumulator read-out `rne_int_sat32(f32(relu?(x)) * scale)` clipped to int8,
//! then max-pooling over the converted int8 values with zero for window positions outside the
//! convolution's output (the store unit's pooling). The read-out is the simulator's own function, so the
//! reference cannot drift from the engines' rounding.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::sim::accel::arith::acc_scale_to_i8;

/// A strided convolution with optional fused max-pooling. Square images and kernels (ResNet-50's are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StridedConv {
    pub batch: u64,
    /// Input rows = columns (unpadded).
    pub in_dim: u64,
    /// Input channels.
    pub c: u64,
    /// Output channels.
    pub k: u64,
    /// Kernel rows = columns.
    pub kernel: u64,
    pub stride: u64,
    /// Zero padding on every side of the input.
    pub padding: u64,
    /// ReLU before the output scale (Gemmini's `RELU` activation).
    pub relu: bool,
    /// Max-pooling window, its stride and padding as `tiled_conv_auto` takes them; `pool_stride` 0 means
    /// no pooling (as in Gemmini).
    pub pool_size: u64,
    pub pool_stride: u64,
    pub pool_padding: u64,
}

impl StridedConv {
    /// A convolution without pooling or ReLU ([`StridedConv::relu`] adds it).
    pub const fn new(
        batch: u64,
        in_dim: u64,
        c: u64,
        k: u64,
        kernel: u64,
        stride: u64,
        padding: u64,
    ) -> StridedConv {
        StridedConv {
            batch,
            in_dim,
            c,
            k,
            kernel,
            stride,
            padding,
            relu: false,
            pool_size: 1,
            pool_stride: 0,
            pool_padding: 0,
        }
    }

    /// The same convolution with ReLU before the output scale.
    pub const fn relu(self) -> StridedConv {
        StridedConv { relu: true, ..self }
    }

    /// Why the geometry is not a convolution Gemmini's library can run (None when it is): zero sizes, a
    /// kernel larger than the padded input, a pooling window larger than the convolution's output plus
    /// its padding, or padding at least as large as the window it pads.
    pub fn invalid(&self) -> Option<String> {
        if self.batch == 0 || self.in_dim == 0 || self.c == 0 || self.k == 0 {
            return Some("batch, in_dim, c and k must be positive".into());
        }
        if self.kernel == 0 || self.stride == 0 {
            return Some("kernel and stride must be positive".into());
        }
        if self.padding >= self.kernel {
            return Some(format!(
                "padding {} must be smaller than the kernel {}",
                self.padding, self.kernel
            ));
        }
        if self.in_dim + 2 * self.padding < self.kernel {
            return Some(format!(
                "the {0}x{0} kernel is larger than the padded {1}x{1} input",
                self.kernel,
                self.in_dim + 2 * self.padding
            ));
        }
        if self.pooled() {
            if self.pool_size == 0 || self.pool_padding >= self.pool_size {
                return Some(format!(
                    "pool size {} must be positive and larger than the pool padding {}",
                    self.pool_size, self.pool_padding
                ));
            }
            if self.out_dim() + 2 * self.pool_padding < self.pool_size {
                return Some(format!(
                    "the {0}x{0} pooling window is larger than the padded {1}x{1} output",
                    self.pool_size,
                    self.out_dim() + 2 * self.pool_padding
                ));
            }
        }
        None
    }

    /// Whether a max-pooling window is fused in.
    pub fn pooled(&self) -> bool {
        self.pool_stride != 0
    }

    /// Rows = columns of the convolution's output (before pooling).
    pub fn out_dim(&self) -> u64 {
        (self.in_dim + 2 * self.padding).saturating_sub(self.kernel) / self.stride.max(1) + 1
    }

    /// Rows = columns of the stored output (after pooling, if any).
    pub fn final_dim(&self) -> u64 {
        if self.pooled() {
            (self.out_dim() + 2 * self.pool_padding).saturating_sub(self.pool_size)
                / self.pool_stride
                + 1
        } else {
            self.out_dim()
        }
    }

    /// Multiply-accumulates of the convolution (pooling adds none).
    pub fn macs(&self) -> u64 {
        let o = self.out_dim();
        self.batch * o * o * self.k * self.kernel * self.kernel * self.c
    }

    /// The output scale is `2^-scale_exp()`, chosen so that full-range random int8 data give outputs
    /// spread over the int8 range instead of saturating: a sum of n = kernel^2 * c products of uniform
    /// int8 values has a standard deviation of about 5476 * sqrt(n), and the exponent brings that to
    /// about 64 (bit length of `5476 * isqrt(n)`, minus 7). Integer-only, so every platform agrees.
    pub fn scale_exp(&self) -> u32 {
        let n = self.kernel * self.kernel * self.c;
        let spread = 5476 * isqrt(n).max(1);
        (u64::BITS - spread.leading_zeros()).saturating_sub(7)
    }

    /// The output scale as the binary32 value `tiled_conv_auto` gets (a power of two, so exact).
    pub fn scale(&self) -> f32 {
        (-(self.scale_exp() as f32)).exp2()
    }

    /// The C literal of [`StridedConv::scale`], e.g. `(1.0f / 1024)`.
    pub fn scale_c(&self) -> String {
        format!("(1.0f / {}u)", 1u64 << self.scale_exp())
    }

    /// "b4 224x224 c3 -> 112x112 k64 (7x7, stride 2, pad 3, relu) + maxpool 3/2/1 -> 56x56"
    pub fn shape(&self) -> String {
        let o = self.out_dim();
        let mut s = format!(
            "b{} {}x{} c{} -> {o}x{o} k{} ({}x{}, stride {}, pad {}{})",
            self.batch,
            self.in_dim,
            self.in_dim,
            self.c,
            self.k,
            self.kernel,
            self.kernel,
            self.stride,
            self.padding,
            if self.relu { ", relu" } else { "" }
        );
        if self.pooled() {
            let f = self.final_dim();
            s.push_str(&format!(
                " + maxpool {}/{}/{} -> {f}x{f}",
                self.pool_size, self.pool_stride, self.pool_padding
            ));
        }
        s
    }

    /// The dimensions of `inp`, `weights`, `bias` and `output` (weights as Gemmini's: [krow][kcol][c][k]).
    pub fn dims(&self) -> [Vec<u64>; 4] {
        let f = self.final_dim();
        [
            vec![self.batch, self.in_dim, self.in_dim, self.c],
            vec![self.kernel, self.kernel, self.c, self.k],
            vec![1, self.k],
            vec![self.batch, f, f, self.k],
        ]
    }

    /// Seeded inputs: full-range uniform int8 input and weights, int32 bias uniform over
    /// [-65536, 65535] (as the 3x3 stride-1 workloads), little-endian bytes.
    pub fn generate_inputs(&self, seed: u64) -> Vec<Vec<u8>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut bytes = |n: u64| -> Vec<u8> { (0..n).map(|_| rng.gen::<u8>()).collect() };
        let inp = bytes(self.batch * self.in_dim * self.in_dim * self.c);
        let weights = bytes(self.kernel * self.kernel * self.c * self.k);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb1a5_b1a5_b1a5_b1a5);
        let bias: Vec<u8> = (0..self.k)
            .flat_map(|_| rng.gen_range(-65536i32..65536).to_le_bytes())
            .collect();
        vec![inp, weights, bias]
    }

    /// The expected output (int8, row-major [batch][final][final][k]) for `arrays` = input, weights and
    /// bias bytes as [`StridedConv::generate_inputs`] lays them out. Short arrays read as zeros.
    pub fn reference(&self, arrays: &[Vec<u8>]) -> Vec<i8> {
        let empty = Vec::new();
        let arr = |i: usize| arrays.get(i).unwrap_or(&empty);
        let (inp, wts, bias_b) = (arr(0), arr(1), arr(2));
        let at = |v: &Vec<u8>, i: usize| -> i32 { i32::from(v.get(i).copied().unwrap_or(0) as i8) };
        let (batch, dim, c, k) = (
            self.batch as usize,
            self.in_dim as usize,
            self.c as usize,
            self.k as usize,
        );
        let (kd, st, pad) = (
            self.kernel as usize,
            self.stride as usize,
            self.padding as i64,
        );
        let bias: Vec<i32> = (0..k)
            .map(|o| {
                let b: [u8; 4] =
                    std::array::from_fn(|j| bias_b.get(o * 4 + j).copied().unwrap_or(0));
                i32::from_le_bytes(b)
            })
            .collect();
        let scale_bits = self.scale().to_bits();
        let od = self.out_dim() as usize;
        // The convolution's converted int8 output, [batch][od][od][k].
        let mut conv = vec![0i8; batch * od * od * k];
        let mut acc = vec![0i32; k];
        for b in 0..batch {
            for y in 0..od {
                for x in 0..od {
                    acc.copy_from_slice(&bias);
                    for r in 0..kd {
                        let iy = (y * st + r) as i64 - pad;
                        if iy < 0 || iy >= dim as i64 {
                            continue;
                        }
                        for s in 0..kd {
                            let ix = (x * st + s) as i64 - pad;
                            if ix < 0 || ix >= dim as i64 {
                                continue;
                            }
                            let px = ((b * dim + iy as usize) * dim + ix as usize) * c;
                            for ci in 0..c {
                                let iv = at(inp, px + ci);
                                if iv == 0 {
                                    continue;
                                }
                                let wrow = ((r * kd + s) * c + ci) * k;
                                for (o, sum) in acc.iter_mut().enumerate() {
                                    // Wrapping, as the accumulator's int32 adds.
                                    *sum = sum.wrapping_add(iv * at(wts, wrow + o));
                                }
                            }
                        }
                    }
                    let base = ((b * od + y) * od + x) * k;
                    for (o, &v) in acc.iter().enumerate() {
                        conv[base + o] = acc_scale_to_i8(v, self.relu, scale_bits);
                    }
                }
            }
        }
        if !self.pooled() {
            return conv;
        }
        let fd = self.final_dim() as usize;
        let (ps, pst, ppad) = (
            self.pool_size as usize,
            self.pool_stride as usize,
            self.pool_padding as i64,
        );
        let mut out = Vec::with_capacity(batch * fd * fd * k);
        for b in 0..batch {
            for py in 0..fd {
                for px in 0..fd {
                    for o in 0..k {
                        let mut m = i8::MIN;
                        for wr in 0..ps {
                            for wc in 0..ps {
                                let oy = (py * pst + wr) as i64 - ppad;
                                let ox = (px * pst + wc) as i64 - ppad;
                                let v = if oy < 0 || ox < 0 || oy >= od as i64 || ox >= od as i64 {
                                    // The store unit pools a zero for a position outside the output.
                                    0
                                } else {
                                    conv[((b * od + oy as usize) * od + ox as usize) * k + o]
                                };
                                m = m.max(v);
                            }
                        }
                        out.push(m);
                    }
                }
            }
        }
        out
    }

    /// The `tiled_conv_auto` call computing this convolution into `output` (`kind` = WS, WS_CPU_ISSUED
    /// or CPU), with the solution's argument names; pooling as given, or none.
    pub fn tiled_conv_auto_call(&self, kind: &str, output: &str, pool: bool) -> String {
        let (ps, pst, ppad) = if pool {
            (self.pool_size, self.pool_stride, self.pool_padding)
        } else {
            (1, 0, 0)
        };
        let o = self.out_dim();
        format!(
            "tiled_conv_auto({b}, {d}, {d}, {c}, {k}, {o}, {o}, {st}, 1, 1, {pad}, {kd}, false, false, false,\n\
             \x20                 false, false, (const elem_t *)inp, (const elem_t *)weights,\n\
             \x20                 (const acc_t *)bias, (elem_t *){output}, {act}, {scale}, {ps}, {pst}, {ppad},\n\
             \x20                 {kind})",
            b = self.batch,
            d = self.in_dim,
            c = self.c,
            k = self.k,
            st = self.stride,
            pad = self.padding,
            kd = self.kernel,
            act = if self.relu { "RELU" } else { "NO_ACTIVATION" },
            scale = self.scale_c(),
        )
    }

    /// Whether this is ResNet's downsampling shortcut shape (1x1, stride 2, no padding, no pooling), which
    /// Gemmini's resnet50.c runs with `tiled_conv_downsample`.
    pub fn is_downsample(&self) -> bool {
        self.kernel == 1 && self.stride == 2 && self.padding == 0 && !self.pooled()
    }

    /// A C body for the `library` baseline (CPU-issued commands, `WS_CPU_ISSUED`). Our library's
    /// CPU-issued path does not pool (pooling in the store unit is driven by the conv FSM's mvouts), so a
    /// pooled convolution runs its convolution CPU-issued into a heap buffer and max-pools on the hart,
    /// exactly as the store unit does (zero outside the output).
    pub fn library_body(&self) -> String {
        if !self.pooled() {
            return format!(
                "  if ({} != 0) __builtin_trap();\n",
                self.tiled_conv_auto_call("WS_CPU_ISSUED", "output", false)
            );
        }
        let od = self.out_dim();
        let fd = self.final_dim();
        format!(
            "  elem_t *conv = (elem_t *)malloc((size_t){b} * {od} * {od} * {k});\n\
             \x20 if (conv == NULL) __builtin_trap();\n\
             \x20 if ({call} != 0) __builtin_trap();\n\
             \x20 /* max-pooling on the hart: {ps}x{ps} window, stride {pst}, padding {ppad}; a window clipped by the\n\
             \x20    border also sees zeros (the store unit's rule), so it starts from 0 instead of -128. Eight\n\
             \x20    channels per 64-bit word with a branch-free signed byte-wise max, the rest one by one. */\n\
             \x20 const uint64_t H = 0x8080808080808080ull, L = 0x7f7f7f7f7f7f7f7full;\n\
             \x20 for (int b = 0; b < {b}; b++)\n\
             \x20   for (int py = 0; py < {fd}; py++)\n\
             \x20     for (int px = 0; px < {fd}; px++) {{\n\
             \x20       const int y0 = py * {pst} - {ppad}, x0 = px * {pst} - {ppad};\n\
             \x20       const int ya = y0 < 0 ? 0 : y0, xa = x0 < 0 ? 0 : x0;\n\
             \x20       const int yb = y0 + {ps} > {od} ? {od} : y0 + {ps}, xb = x0 + {ps} > {od} ? {od} : x0 + {ps};\n\
             \x20       const int clipped = ya != y0 || xa != x0 || yb != y0 + {ps} || xb != x0 + {ps};\n\
             \x20       const elem_t *src[{ps} * {ps}];\n\
             \x20       int n = 0;\n\
             \x20       for (int oy = ya; oy < yb; oy++)\n\
             \x20         for (int ox = xa; ox < xb; ox++) src[n++] = conv + (((size_t)b * {od} + oy) * {od} + ox) * {k};\n\
             \x20       elem_t *dst = &output[b][py][px][0];\n\
             \x20       int o = 0;\n\
             \x20       for (; o + 8 <= {k}; o += 8) {{\n\
             \x20         uint64_t m = clipped ? 0 : H;\n\
             \x20         for (int j = 0; j < n; j++) {{\n\
             \x20           uint64_t a;\n\
             \x20           __builtin_memcpy(&a, src[j] + o, 8);\n\
             \x20           const uint64_t t = (a | H) - (m & L);                 /* high bit: low7(a) >= low7(m) */\n\
             \x20           const uint64_t ge = ((~a & m) | (~(a ^ m) & t)) & H;   /* high bit: a >= m, signed */\n\
             \x20           const uint64_t mask = (ge - (ge >> 7)) | ge;\n\
             \x20           m = (a & mask) | (m & ~mask);\n\
             \x20         }}\n\
             \x20         __builtin_memcpy(dst + o, &m, 8);\n\
             \x20       }}\n\
             \x20       for (; o < {k}; o++) {{\n\
             \x20         elem_t m = clipped ? 0 : -128;\n\
             \x20         for (int j = 0; j < n; j++) m = src[j][o] > m ? src[j][o] : m;\n\
             \x20         dst[o] = m;\n\
             \x20       }}\n\
             \x20     }}\n\
             \x20 free(conv);\n",
            b = self.batch,
            k = self.k,
            call = self.tiled_conv_auto_call("WS_CPU_ISSUED", "conv", false),
            ps = self.pool_size,
            pst = self.pool_stride,
            ppad = self.pool_padding,
        )
    }

    /// A C body for the `fsm` baseline: `tiled_conv_auto` with `WS` (the LOOP_CONV_WS FSM, pooling fused
    /// into its mvouts), or `tiled_conv_downsample` for the downsampling shortcut, as resnet50.c calls it.
    pub fn fsm_body(&self) -> String {
        if self.is_downsample() {
            let o = self.out_dim();
            return format!(
                "  if (tiled_conv_downsample({b}, {d}, {d}, {c}, {k}, {o}, {o}, {c}, {k}, {k}, (const elem_t *)inp,\n\
                 \x20                           (const elem_t *)weights, (const acc_t *)bias, (elem_t *)output,\n\
                 \x20                           {act}, {scale}, WS) != 0)\n\
                 \x20   __builtin_trap();\n",
                b = self.batch,
                d = self.in_dim,
                c = self.c,
                k = self.k,
                act = if self.relu { "RELU" } else { "NO_ACTIVATION" },
                scale = self.scale_c(),
            );
        }
        format!(
            "  if ({} != 0) __builtin_trap();\n",
            self.tiled_conv_auto_call("WS", "output", true)
        )
    }
}

/// Small strided convolutions for tests (group "test"): a pooled one with channel counts that are not
/// multiples of 16 (stride 2, padding 1, 3x3 pool with stride 2 and padding 1, as the ResNet stem; no ReLU,
/// so the pooling compares negative values too), an
/// unpooled 3x3 stride-2 one, and a 1x1 stride-2 downsampling one.
pub fn test_workloads() -> Vec<super::Workload> {
    let pooled = StridedConv {
        pool_size: 3,
        pool_stride: 2,
        pool_padding: 1,
        ..StridedConv::new(2, 17, 19, 21, 3, 2, 1)
    };
    vec![
        super::Workload::strided("sconv_b2_17_c19_k21_pool", "test", pooled),
        super::Workload::strided(
            "sconv_b2_15_c32_k24_s2",
            "test",
            StridedConv::new(2, 15, 32, 24, 3, 2, 1).relu(),
        ),
        super::Workload::strided(
            "sconv_b2_12_c40_k48_down",
            "test",
            StridedConv::new(2, 12, 40, 48, 1, 2, 0),
        ),
    ]
}

/// The integer square root (floor), by Newton's method.
fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_the_resnet_stem() {
        let stem = StridedConv {
            pool_size: 3,
            pool_stride: 2,
            pool_padding: 1,
            ..StridedConv::new(4, 224, 3, 64, 7, 2, 3).relu()
        };
        assert_eq!(stem.invalid(), None);
        assert_eq!((stem.out_dim(), stem.final_dim()), (112, 56));
        assert_eq!(stem.macs(), 4 * 112 * 112 * 64 * 49 * 3);
        assert_eq!(stem.scale_exp(), 10);
        for n in [
            0u64,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            147,
            1152,
            4608,
            1 << 40,
            u64::from(u32::MAX),
        ] {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n, "isqrt({n}) = {r}");
        }
        assert_eq!(stem.scale(), 1.0 / 1024.0);
        let down = StridedConv::new(4, 56, 256, 512, 1, 2, 0);
        assert!(down.is_downsample() && down.final_dim() == 28);
        let s2 = StridedConv::new(4, 56, 128, 128, 3, 2, 1).relu();
        assert_eq!(s2.out_dim(), 28);
        assert!(StridedConv::new(1, 2, 1, 1, 7, 1, 2).invalid().is_some());
        assert!(StridedConv::new(1, 8, 1, 1, 3, 1, 3).invalid().is_some());
    }

    /// A hand-computed case: 1 channel, 3x3 input 10..90, 2x2 kernel of 50s, stride 2, padding 1, so
    /// the four windows see one, two, two and four input pixels; n = 4 products give the scale 1/128.
    #[test]
    fn reference_by_hand() {
        let conv = StridedConv::new(1, 3, 1, 1, 2, 2, 1);
        assert_eq!(conv.scale_exp(), 7);
        let inp: Vec<u8> = (1..=9u8).map(|x| x * 10).collect();
        let w = vec![50u8; 4];
        let bias = |b: i32| b.to_le_bytes().to_vec();
        // sums 500, 2500, 5500, 14000, bias -384: /128 = 0.906, 16.53, 39.97, 106.375 (rounded to nearest)
        let got = conv.reference(&[inp.clone(), w.clone(), bias(-384)]);
        assert_eq!(got, vec![1, 17, 40, 106]);
        // bias -1000: the first window is -500 -> -3.9 -> -4; ReLU makes it 0 before the scale.
        assert_eq!(
            conv.reference(&[inp.clone(), w.clone(), bias(-1000)])[0],
            -4
        );
        let relu = StridedConv { relu: true, ..conv };
        assert_eq!(relu.reference(&[inp.clone(), w.clone(), bias(-1000)])[0], 0);
        // Pooled: the 2x2 output, a 2x2 window with stride 1 and padding 1 -> 3x3; a corner window sees
        // one output pixel and three zeros, so a negative pixel pools to 0.
        let pooled = StridedConv {
            pool_size: 2,
            pool_stride: 1,
            pool_padding: 1,
            ..conv
        };
        assert_eq!(pooled.final_dim(), 3);
        assert_eq!(
            pooled.reference(&[inp.clone(), w.clone(), bias(-384)]),
            vec![1, 17, 17, 40, 106, 106, 40, 106, 106]
        );
        assert_eq!(pooled.reference(&[inp, w, bias(-1000)])[0], 0);
    }
}
