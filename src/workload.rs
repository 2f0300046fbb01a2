//! Workloads: the GEMMs and convolutions candidates are judged on (autocomp-method.md section 4, plus small
//! ones for tests), each with seeded full-range random inputs, a host-side reference, and a generated C
//! harness that calls the candidate's `solution(...)` between `fence(); read_cycles()` brackets.
//!
//! The harness never holds data: the host places the arrays in an I/O region of simulated memory (see
//! `eval`), writes their addresses into the harness's private pointer table, and reads the measured cycles
//! and a completion flag back from private globals. All harness symbols are `static`, so the candidate's
//! translation unit cannot link against them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The shape of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kind {
    /// C[M][N] = sat8(A[M][K] * B[K][N]), int32 accumulation, no bias, scale 1.0.
    Gemm { m: u64, n: u64, k: u64 },
    /// 3x3, stride 1, NHWC, input pre-padded by one pixel on each side:
    /// output[b][p][q][k] = sat8(bias[k] + sum_{r,s,c} inp[b][p+r][q+s][c] * w[r][s][c][k]).
    Conv {
        batch: u64,
        p: u64,
        q: u64,
        c: u64,
        k: u64,
    },
}

/// One benchmark problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workload {
    pub name: String,
    /// "paper", "reuse", "conv" or "test".
    pub group: &'static str,
    pub kind: Kind,
}

/// The symbols of the generated harness the host reads and writes.
pub const SYM_ARGS: &str = "__gemforge_harness_args";
pub const SYM_CYCLES: &str = "__gemforge_harness_cycles";
pub const SYM_DONE: &str = "__gemforge_harness_done";
/// The value the harness writes to [`SYM_DONE`] after the bracketed call returned.
pub const DONE_MAGIC: u32 = 0x600d_c0de;

/// One array the solution takes, in argument order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayArg {
    pub name: &'static str,
    /// C element type ("int8_t" or "int32_t").
    pub ctype: &'static str,
    pub elem_bytes: u64,
    pub dims: Vec<u64>,
    /// The output the checker compares (poisoned before each run).
    pub output: bool,
}

impl ArrayArg {
    pub fn len(&self) -> u64 {
        self.dims.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn bytes(&self) -> u64 {
        self.len() * self.elem_bytes
    }
    /// `int8_t A[32][48]`
    pub fn declaration(&self) -> String {
        let dims: String = self.dims.iter().map(|d| format!("[{d}]")).collect();
        format!("{} {}{}", self.ctype, self.name, dims)
    }
    /// The C type of a pointer to the first element of the outer dimension: `int8_t (*)[48]`.
    fn pointer_type(&self) -> String {
        let inner: String = self.dims[1..].iter().map(|d| format!("[{d}]")).collect();
        if inner.is_empty() {
            format!("{} *", self.ctype)
        } else {
            format!("{} (*){}", self.ctype, inner)
        }
    }
}

/// Fresh inputs for one run: the bytes of each input array (little-endian), in argument order (outputs
/// are absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub arrays: Vec<Vec<u8>>,
}

fn sat8(x: i64) -> i8 {
    x.clamp(-128, 127) as i8
}

impl Workload {
    pub fn gemm(name: &str, group: &'static str, m: u64, n: u64, k: u64) -> Workload {
        Workload {
            name: name.to_string(),
            group,
            kind: Kind::Gemm { m, n, k },
        }
    }

    pub fn conv(name: &str, group: &'static str, batch: u64, pq: u64, ck: u64) -> Workload {
        Workload {
            name: name.to_string(),
            group,
            kind: Kind::Conv {
                batch,
                p: pq,
                q: pq,
                c: ck,
                k: ck,
            },
        }
    }

    /// "512x512x512" or "b4 56x56 c64 k64".
    /// The element type of the workload's inputs (every workload here is int8: GEMMs and convolutions of
    /// the paper's int8 ResNet-50). A configuration with another datapath cannot run it.
    pub fn input_type(&self) -> &'static str {
        "int8"
    }

    pub fn shape(&self) -> String {
        match self.kind {
            Kind::Gemm { m, n, k } => format!("{m}x{n}x{k} (MxNxK)"),
            Kind::Conv { batch, p, q, c, k } => {
                format!("b{batch} {p}x{q} c{c} k{k} (3x3, stride 1)")
            }
        }
    }

    /// Multiply-accumulates of the problem.
    pub fn macs(&self) -> u64 {
        match self.kind {
            Kind::Gemm { m, n, k } => m * n * k,
            Kind::Conv { batch, p, q, c, k } => batch * p * q * k * 9 * c,
        }
    }

    /// MACs / DIM^2: the cycles of a fully used DIM x DIM array.
    pub fn ideal_cycles(&self, dim: u32) -> u64 {
        let d2 = u64::from(dim) * u64::from(dim);
        self.macs().div_ceil(d2.max(1))
    }

    /// The solution's arrays in argument order.
    pub fn arrays(&self) -> Vec<ArrayArg> {
        let a = |name, ctype, elem_bytes, dims: &[u64], output| ArrayArg {
            name,
            ctype,
            elem_bytes,
            dims: dims.to_vec(),
            output,
        };
        match self.kind {
            Kind::Gemm { m, n, k } => vec![
                a("A", "int8_t", 1, &[m, k], false),
                a("B", "int8_t", 1, &[k, n], false),
                a("C", "int8_t", 1, &[m, n], true),
            ],
            Kind::Conv { batch, p, q, c, k } => vec![
                a("inp", "int8_t", 1, &[batch, p + 2, q + 2, c], false),
                a("weights", "int8_t", 1, &[3, 3, c, k], false),
                a("bias", "int32_t", 4, &[1, k], false),
                a("output", "int8_t", 1, &[batch, p, q, k], true),
            ],
        }
    }

    /// The index of the output array among [`Workload::arrays`].
    pub fn output_index(&self) -> usize {
        self.arrays().iter().position(|a| a.output).unwrap_or(0)
    }

    /// `void solution(int8_t A[M][K], int8_t B[K][N], int8_t C[M][N])`
    pub fn signature(&self) -> String {
        let args: Vec<String> = self.arrays().iter().map(ArrayArg::declaration).collect();
        format!("void solution({})", args.join(", "))
    }

    /// Full-range random inputs from `seed`: int8 values uniform over [-128, 127]; the convolution's
    /// padding border is zero (the input is "already padded"), its bias uniform over [-65536, 65535].
    pub fn generate_inputs(&self, seed: u64) -> Inputs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut bytes = |n: u64| -> Vec<u8> { (0..n).map(|_| rng.gen::<u8>()).collect() };
        match self.kind {
            Kind::Gemm { m, n, k } => Inputs {
                arrays: vec![bytes(m * k), bytes(k * n)],
            },
            Kind::Conv { batch, p, q, c, k } => {
                let (h, w) = (p + 2, q + 2);
                let mut inp = bytes(batch * h * w * c);
                for b in 0..batch {
                    for y in 0..h {
                        for x in 0..w {
                            if y == 0 || x == 0 || y == h - 1 || x == w - 1 {
                                let at = (((b * h + y) * w + x) * c) as usize;
                                inp[at..at + c as usize].fill(0);
                            }
                        }
                    }
                }
                let weights = bytes(9 * c * k);
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb1a5_b1a5_b1a5_b1a5);
                let bias: Vec<u8> = (0..k)
                    .flat_map(|_| rng.gen_range(-65536i32..65536).to_le_bytes())
                    .collect();
                Inputs {
                    arrays: vec![inp, weights, bias],
                }
            }
        }
    }

    /// The expected output (int8 values in row-major order), computed on the host.
    pub fn reference(&self, inputs: &Inputs) -> Vec<i8> {
        match self.kind {
            Kind::Gemm { m, n, k } => {
                let (m, n, k) = (m as usize, n as usize, k as usize);
                let a = &inputs.arrays[0];
                let b = &inputs.arrays[1];
                let mut acc = vec![0i32; n];
                let mut out = Vec::with_capacity(m * n);
                for i in 0..m {
                    acc.fill(0);
                    for kk in 0..k {
                        let av = i32::from(a[i * k + kk] as i8);
                        let brow = &b[kk * n..(kk + 1) * n];
                        for (s, &bv) in acc.iter_mut().zip(brow) {
                            *s += av * i32::from(bv as i8);
                        }
                    }
                    out.extend(acc.iter().map(|&s| sat8(i64::from(s))));
                }
                out
            }
            Kind::Conv { batch, p, q, c, k } => {
                let (batch, p, q, c, k) = (
                    batch as usize,
                    p as usize,
                    q as usize,
                    c as usize,
                    k as usize,
                );
                let (h, w) = (p + 2, q + 2);
                let inp = &inputs.arrays[0];
                let wts = &inputs.arrays[1];
                let bias: Vec<i64> = inputs.arrays[2]
                    .chunks_exact(4)
                    .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect();
                let mut acc = vec![0i64; k];
                let mut out = Vec::with_capacity(batch * p * q * k);
                for b in 0..batch {
                    for y in 0..p {
                        for x in 0..q {
                            acc.copy_from_slice(&bias);
                            for r in 0..3 {
                                for s in 0..3 {
                                    let px = ((b * h + y + r) * w + x + s) * c;
                                    for ci in 0..c {
                                        let iv = i64::from(inp[px + ci] as i8);
                                        if iv == 0 {
                                            continue;
                                        }
                                        let wrow = &wts[((r * 3 + s) * c + ci) * k..][..k];
                                        for (sum, &wv) in acc.iter_mut().zip(wrow) {
                                            *sum += iv * i64::from(wv as i8);
                                        }
                                    }
                                }
                            }
                            out.extend(acc.iter().map(|&v| sat8(v)));
                        }
                    }
                }
                out
            }
        }
    }

    /// A multi-dimensional index for a flat output index: `[3][17]`.
    pub fn output_index_str(&self, flat: usize) -> String {
        let arrays = self.arrays();
        let out = &arrays[self.output_index()];
        let mut rem = flat as u64;
        let mut idx = vec![0u64; out.dims.len()];
        for (slot, &d) in idx.iter_mut().zip(&out.dims).rev() {
            *slot = rem % d;
            rem /= d;
        }
        let s: String = idx.iter().map(|i| format!("[{i}]")).collect();
        format!("{}{}", out.name, s)
    }

    /// The generated harness translation unit. It is compiled with `gemmini.h`, `stdint.h` and
    /// `stdbool.h` force-included (like the candidate), declares the solution, takes the array addresses
    /// from a pointer table the host fills, brackets the call with `fence(); read_cycles()`, stores the
    /// difference and a completion flag, and returns 0.
    pub fn harness_c(&self) -> String {
        let arrays = self.arrays();
        let n = arrays.len();
        let mut s = String::new();
        s.push_str(&format!(
            "/* Generated by gemforge for workload {} ({}). Do not edit. */\n",
            self.name,
            self.shape()
        ));
        s.push_str("#include <stdint.h>\n#include \"gemmini.h\"\n\n");
        s.push_str(&format!("{};\n\n", self.signature()));
        s.push_str("/* Written by the host after loading: the addresses of the arrays, in argument order. */\n");
        s.push_str(&format!(
            "static volatile uint64_t {SYM_ARGS}[{n}] __attribute__((used, aligned(8))) = {{{}}};\n",
            vec!["1"; n].join(", ")
        ));
        s.push_str(&format!(
            "static volatile uint64_t {SYM_CYCLES} __attribute__((used, aligned(8))) = UINT64_MAX;\n"
        ));
        s.push_str(&format!(
            "static volatile uint32_t {SYM_DONE} __attribute__((used, aligned(8))) = 1;\n\n"
        ));
        s.push_str("int main(void) {\n");
        for (i, a) in arrays.iter().enumerate() {
            let pt = a.pointer_type();
            s.push_str(&format!(
                "  {pt_decl} = ({pt})(uintptr_t){SYM_ARGS}[{i}];\n",
                pt_decl = pointer_decl(a),
            ));
        }
        let names: Vec<&str> = arrays.iter().map(|a| a.name).collect();
        s.push_str("  gemmini_fence();\n");
        s.push_str("  uint64_t t0 = read_cycles();\n");
        s.push_str(&format!("  solution({});\n", names.join(", ")));
        s.push_str("  gemmini_fence();\n");
        s.push_str("  uint64_t t1 = read_cycles();\n");
        s.push_str(&format!("  {SYM_CYCLES} = t1 - t0;\n"));
        s.push_str(&format!("  {SYM_DONE} = 0x{DONE_MAGIC:x}u;\n"));
        s.push_str("  return 0;\n}\n");
        s
    }
}

/// `int8_t (*A)[48]`
fn pointer_decl(a: &ArrayArg) -> String {
    let inner: String = a.dims[1..].iter().map(|d| format!("[{d}]")).collect();
    if inner.is_empty() {
        format!("{} *{}", a.ctype, a.name)
    } else {
        format!("{} (*{}){}", a.ctype, a.name, inner)
    }
}

/// Every workload: the six paper GEMMs, the nine schedule-reuse GEMMs, the four convolutions (batch 4),
/// and small ones for tests.
pub fn all() -> Vec<Workload> {
    let mut v = Vec::new();
    let g = |m: u64, n: u64, k: u64, group| {
        Workload::gemm(&format!("gemm_{m}x{n}x{k}"), group, m, n, k)
    };
    for (m, n, k) in [
        (512, 512, 512),
        (12544, 256, 64),
        (12544, 64, 256),
        (3136, 512, 128),
        (3136, 128, 512),
        (784, 1024, 256),
    ] {
        v.push(g(m, n, k, "paper"));
    }
    for (m, n, k) in [
        (32, 2048, 2048),
        (1024, 1024, 1024),
        (256, 256, 256),
        (6272, 256, 64),
        (12544, 128, 64),
        (12544, 256, 128),
        (128, 1024, 1024),
        (64, 1024, 1024),
        (32, 1024, 1024),
    ] {
        v.push(g(m, n, k, "reuse"));
    }
    for (pq, ck) in [(56, 64), (28, 128), (14, 256), (14, 128)] {
        v.push(Workload::conv(
            &format!("conv_{pq}x{ck}"),
            "conv",
            4,
            pq,
            ck,
        ));
    }
    for (m, n, k) in [
        (16, 16, 16),
        (32, 32, 32),
        (64, 48, 80),
        (20, 36, 24),
        (64, 64, 64),
    ] {
        v.push(g(m, n, k, "test"));
    }
    v.push(Workload::conv("conv_b1_8x16", "test", 1, 8, 16));
    v
}

/// The workload with this name.
pub fn by_name(name: &str) -> Option<Workload> {
    all().into_iter().find(|w| w.name == name)
}

/// `gemforge workloads`: one line per workload, or a JSON array.
pub fn list(dim: u32, json: bool) -> String {
    let ws = all();
    if json {
        let v: Vec<serde_json::Value> = ws
            .iter()
            .map(|w| {
                serde_json::json!({
                    "name": w.name,
                    "group": w.group,
                    "kind": w.kind,
                    "shape": w.shape(),
                    "signature": w.signature(),
                    "macs": w.macs(),
                    "ideal_cycles": w.ideal_cycles(dim),
                })
            })
            .collect();
        return serde_json::Value::Array(v).to_string();
    }
    let mut s = format!(
        "{:<22} {:<6} {:<34} {:>14} {:>14}\n",
        "name", "group", "shape", "MACs", "ideal cycles"
    );
    for w in &ws {
        s.push_str(&format!(
            "{:<22} {:<6} {:<34} {:>14} {:>14}\n",
            w.name,
            w.group,
            w.shape(),
            w.macs(),
            w.ideal_cycles(dim)
        ));
    }
    s.push_str(&format!("ideal cycles = MACs / DIM^2 (DIM = {dim})\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        let ws = all();
        assert_eq!(ws.iter().filter(|w| w.group == "paper").count(), 6);
        assert_eq!(ws.iter().filter(|w| w.group == "reuse").count(), 9);
        assert_eq!(ws.iter().filter(|w| w.group == "conv").count(), 4);
        let w = by_name("gemm_512x512x512").unwrap();
        assert_eq!(w.macs(), 512 * 512 * 512);
        assert_eq!(w.ideal_cycles(16), 512 * 512 * 512 / 256);
        let c = by_name("conv_56x64").unwrap();
        assert_eq!(c.macs(), 4 * 56 * 56 * 64 * 9 * 64);
        let mut names: Vec<_> = ws.iter().map(|w| w.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ws.len(), "unique names");
    }

    #[test]
    fn gemm_reference_matches_naive() {
        let w = by_name("gemm_20x36x24").unwrap();
        let inp = w.generate_inputs(7);
        let (a, b) = (&inp.arrays[0], &inp.arrays[1]);
        let r = w.reference(&inp);
        for i in 0..20 {
            for j in 0..36 {
                let s: i64 = (0..24)
                    .map(|k| i64::from(a[i * 24 + k] as i8) * i64::from(b[k * 36 + j] as i8))
                    .sum();
                assert_eq!(r[i * 36 + j], sat8(s));
            }
        }
        assert_ne!(w.generate_inputs(8), inp, "seeds give fresh inputs");
        // full range, not sparse
        assert!(a.iter().any(|&x| (x as i8) < -100) && a.iter().any(|&x| (x as i8) > 100));
    }

    #[test]
    fn conv_reference_small() {
        let w = Workload::conv("t", "test", 1, 1, 1);
        let mut inp = w.generate_inputs(1);
        // 3x3x1 input (all border but the centre), 3x3x1x1 weights, bias
        inp.arrays[0] = vec![0, 0, 0, 0, 2, 0, 0, 0, 0];
        inp.arrays[1] = vec![1, 1, 1, 1, 3, 1, 1, 1, 1];
        inp.arrays[2] = 5i32.to_le_bytes().to_vec();
        assert_eq!(w.reference(&inp), vec![11]);
        inp.arrays[2] = 1000i32.to_le_bytes().to_vec();
        assert_eq!(w.reference(&inp), vec![127]);
    }

    #[test]
    fn harness_mentions_signature() {
        let w = by_name("conv_b1_8x16").unwrap();
        let h = w.harness_c();
        assert!(h.contains("void solution(int8_t inp[1][10][10][16], int8_t weights[3][3][16][16], int32_t bias[1][16], int8_t output[1][8][8][16]);"), "{h}");
        assert!(h.contains("int32_t (*bias)[16] = (int32_t (*)[16])"), "{h}");
        assert_eq!(w.output_index_str(8 * 16 + 3), "output[0][1][0][3]");
    }
}
