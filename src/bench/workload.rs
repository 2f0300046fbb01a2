//! Workloads: the GEMMs and convolutions candidates are judged on (autocomp-method.md section 4, plus small
//! ones for tests), each with seeded full-range random inputs, a host-side reference, and a generated C
//! harness that calls the candidate's `solution(...)` in U-mode (docs/integrity.md).
//!
//! The harness never holds data: the host places the arrays in an I/O region of simulated memory (see
//! `eval`) and writes their addresses, the candidate's PMP regions and its stack pointer into the
//! harness's private machine-mode tables. The harness programs PMP and `mcounteren` from them and enters
//! `solution` in U-mode with `mret`; the candidate returns to an address it may not execute, which the host
//! takes as the return (the host, not the harness, measures the call). The harness also gives the
//! candidate a scratch heap (`malloc` and friends, `sbrk`) whose state lives in the candidate's own
//! writable data. All harness symbols the host uses are `static`, so the candidate cannot link against
//! them.

pub mod autocomp;
mod mpc;
pub mod resnet50;
mod strided;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use mpc::{NU as MPC_NU, NX as MPC_NX};
pub use strided::StridedConv;

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
    /// TinyMPC's forward rollout (fp32; `MPC_NX` = 12 states, `MPC_NU` = 4 inputs): inputs `A[12][12]`,
    /// `B[12][4]`, `K[4][12]`, `d[H][4]`, `x0[12]`; for t = 0 .. H-1, with x_0 = x0:
    /// `u_t = -K x_t - d_t` and `x_{t+1} = A x_t + B u_t`; output `xu[H][16]` with row t =
    /// `(u_t[0..4], x_{t+1}[0..12])`.
    #[serde(rename = "mpc_forward")]
    MpcForward { horizon: u64 },
    /// TinyMPC's backward pass with cached matrices (fp32): inputs `Bt[4][12]` (B transposed), `C1[4][4]`
    /// (Quu^-1), `C2[12][12]` ((A - B Kinf)^T), `KinfT[12][4]`, `q[H][12]`, `r[H][4]`, `pN[12]` (p_{H-1});
    /// for k = H-2 down to 0: `d_k = C1 (Bt p_{k+1} + r_k)` and `p_k = q_k + C2 p_{k+1} - KinfT r_k`;
    /// output `dp[H-1][16]` with row k = `(d_k[0..4], p_k[0..12])`.
    #[serde(rename = "mpc_backward")]
    MpcBackward { horizon: u64 },
    /// Autocomp's admm-multifunction problem `prob` (0, 1, 2; fp32 TinyMPC kernels with Autocomp's
    /// signatures, harness macros and helpers; `workload/autocomp.rs`). The candidate is the body of its
    /// `solution(...)`, as Autocomp compiles it.
    #[serde(rename = "autocomp_admm")]
    AutocompAdmm { prob: u8 },
    /// A convolution as Gemmini's `tiled_conv_auto` takes it (`workload/strided.rs`): unpadded NHWC
    /// `inp[batch][in][in][c]`, weights `[kernel][kernel][c][k]`, int32 `bias[1][k]`, stride and zero
    /// padding, optional ReLU, output scale 2^-e, optional fused max-pooling; output
    /// `[batch][final][final][k]`.
    #[serde(rename = "strided_conv")]
    StridedConv(StridedConv),
}

/// One benchmark problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workload {
    pub name: String,
    /// "paper", "reuse", "conv", "resnet50", "mpc" or "test".
    pub group: &'static str,
    pub kind: Kind,
}

/// The symbols of the generated harness the host reads and writes.
pub const SYM_ARGS: &str = "__gemforge_harness_args";
/// The candidate's context ([`CTX_WORDS`] words, machine-only): [`CTX_SP`], [`CTX_COUNTEREN`],
/// [`CTX_PMPCFG0`], [`CTX_PMPCFG2`], then `pmpaddr0`-`pmpaddr15` from [`CTX_PMPADDR`].
pub const SYM_CTX: &str = "__gemforge_harness_ctx";
pub const CTX_SP: usize = 0;
pub const CTX_COUNTEREN: usize = 1;
pub const CTX_PMPCFG0: usize = 2;
pub const CTX_PMPCFG2: usize = 3;
pub const CTX_PMPADDR: usize = 4;
pub const CTX_WORDS: usize = CTX_PMPADDR + 16;
/// The scratch heap's state (three words in the candidate's writable data: start, next, end).
pub const SYM_HEAP: &str = "__gemforge_heap";
/// The return address the candidate gets (machine-only code: fetching it in U-mode is the return).
pub const SYM_USER_RETURN: &str = "__gf_user_return";
/// The completion flag (machine-only), written by the harness if the call returns with no host watching.
pub const SYM_DONE: &str = "__gemforge_harness_done";
/// The value the harness writes to [`SYM_DONE`] after the call returned.
pub const DONE_MAGIC: u32 = 0x600d_c0de;
/// `a7` of the harness's `ecall` when the scratch heap is exhausted (`a0` = the bytes asked for).
pub const OOM_ECALL: u64 = 0x6f6f6d;

/// One array the solution takes, in argument order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayArg {
    pub name: &'static str,
    /// C element type ("int8_t", "int32_t" or "float").
    pub ctype: &'static str,
    pub elem_bytes: u64,
    pub dims: Vec<u64>,
    /// The output the checker compares (poisoned before each run).
    pub output: bool,
    /// A work array: initialized by the host like an input, but the candidate may write it, and it is not
    /// checked (Autocomp's harnesses let a program write its state trajectory and check only the output).
    pub work: bool,
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
}

/// Fresh inputs for one run: the bytes of each input array (little-endian), in argument order (outputs
/// are absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub arrays: Vec<Vec<u8>>,
}

impl Inputs {
    /// The arrays as binary32 values (for the fp32 workloads).
    pub fn floats(&self) -> Vec<Vec<f32>> {
        self.arrays
            .iter()
            .map(|a| {
                a.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect()
    }
}

/// The byte every output byte holds before the candidate runs (an fp32 element: four of them,
/// 0x5A5A5A5A).
pub const POISON: u8 = 0x5A;

/// The relative tolerance of fp32 outputs: `|got - want| <= FP32_REL_TOL * max(1, |want|)`.
pub const FP32_REL_TOL: f64 = 1e-4;

/// Whether an fp32 output element is close enough to the f64 reference value.
pub fn fp32_close(got: f32, want: f64) -> bool {
    got.is_finite()
        && want.is_finite()
        && (f64::from(got) - want).abs() <= FP32_REL_TOL * want.abs().max(1.0)
}

/// The expected output of a workload ([`Workload::reference`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// int8 values, compared exactly.
    Int8(Vec<i8>),
    /// Exact values of an fp32 output, compared with [`FP32_REL_TOL`].
    Fp32(Vec<f64>),
}

impl Reference {
    pub fn len(&self) -> usize {
        match self {
            Reference::Int8(v) => v.len(),
            Reference::Fp32(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an output is wrong ([`Workload::check_output`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Flat index of the first wrong element ([`Workload::output_index_str`] names it).
    pub index: usize,
    /// The first wrong element's value and the expected one (with the tolerance, for fp32), as text.
    pub got: String,
    pub want: String,
    /// The first wrong element still holds the poison.
    pub got_is_poison: bool,
    /// Wrong elements, of `total`.
    pub wrong: usize,
    pub total: usize,
    /// Elements that still hold the poison pattern.
    pub poisoned: usize,
    /// Bytes per element (the poison pattern of one element is this many [`POISON`] bytes).
    pub elem_bytes: usize,
}

impl Mismatch {
    /// The poison pattern of one element: `0x5A` (int8) or `0x5A5A5A5A` (fp32).
    pub fn poison_pattern(&self) -> String {
        format!(
            "0x{}",
            format!("{POISON:02X}").repeat(self.elem_bytes.max(1))
        )
    }
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

    pub fn strided(name: &str, group: &'static str, conv: StridedConv) -> Workload {
        Workload {
            name: name.to_string(),
            group,
            kind: Kind::StridedConv(conv),
        }
    }

    pub fn mpc_forward(name: &str, group: &'static str, horizon: u64) -> Workload {
        Workload {
            name: name.to_string(),
            group,
            kind: Kind::MpcForward { horizon },
        }
    }

    pub fn mpc_backward(name: &str, group: &'static str, horizon: u64) -> Workload {
        Workload {
            name: name.to_string(),
            group,
            kind: Kind::MpcBackward { horizon },
        }
    }

    /// Autocomp's admm-multifunction problem `prob` (0, 1 or 2) as a workload (group "admm").
    pub fn autocomp_admm(prob: u8) -> Workload {
        Workload {
            name: autocomp::admm_name(prob).to_string(),
            group: "admm",
            kind: Kind::AutocompAdmm { prob },
        }
    }

    /// The Autocomp admm-multifunction problem this workload is, if it is one: its candidates are solution
    /// bodies compiled inside the problem's harness context ([`autocomp::wrap_candidate`]).
    pub fn autocomp_admm_problem(&self) -> Option<u8> {
        match self.kind {
            Kind::AutocompAdmm { prob } => Some(prob),
            _ => None,
        }
    }

    /// The element type of the workload's data: "int8" for the GEMMs and convolutions of the paper's int8
    /// ResNet-50, "fp32" for the TinyMPC kernels. A configuration with another datapath
    /// (`array.input_type`) cannot run it.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            Kind::Gemm { .. } | Kind::Conv { .. } | Kind::StridedConv(_) => "int8",
            Kind::MpcForward { .. } | Kind::MpcBackward { .. } | Kind::AutocompAdmm { .. } => {
                "fp32"
            }
        }
    }

    /// "512x512x512 (MxNxK)", "b4 56x56 c64 k64 (3x3, stride 1)" or "12 states, 4 inputs, horizon 5".
    pub fn shape(&self) -> String {
        match self.kind {
            Kind::Gemm { m, n, k } => format!("{m}x{n}x{k} (MxNxK)"),
            Kind::Conv { batch, p, q, c, k } => {
                format!("b{batch} {p}x{q} c{c} k{k} (3x3, stride 1)")
            }
            Kind::StridedConv(s) => s.shape(),
            Kind::MpcForward { horizon } | Kind::MpcBackward { horizon } => {
                format!("{MPC_NX} states, {MPC_NU} inputs, horizon {horizon}")
            }
            Kind::AutocompAdmm { prob } => autocomp::shape(prob),
        }
    }

    /// Multiply-accumulates of the problem (for the TinyMPC kernels, the multiply-adds of their formulas:
    /// forward `H * (4*12 + 12*12 + 12*4)`, backward `(H-1) * (4*12 + 4*4 + 12*12 + 12*4)`).
    pub fn macs(&self) -> u64 {
        match self.kind {
            Kind::Gemm { m, n, k } => m * n * k,
            Kind::Conv { batch, p, q, c, k } => batch * p * q * k * 9 * c,
            Kind::StridedConv(s) => s.macs(),
            Kind::MpcForward { horizon } => mpc::forward_macs(horizon),
            Kind::MpcBackward { horizon } => mpc::backward_macs(horizon),
            Kind::AutocompAdmm { prob } => autocomp::macs(prob),
        }
    }

    /// MACs / DIM^2 rounded up: the cycles of a fully used DIM x DIM array. (For the TinyMPC kernels,
    /// chains of dependent matrix-vector products, the utilization this gives is not a meaningful target:
    /// a vector uses one row or column of the array.)
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
            work: false,
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
            Kind::StridedConv(s) => {
                let [i, w, b, o] = s.dims();
                vec![
                    a("inp", "int8_t", 1, &i, false),
                    a("weights", "int8_t", 1, &w, false),
                    a("bias", "int32_t", 4, &b, false),
                    a("output", "int8_t", 1, &o, true),
                ]
            }
            Kind::MpcForward { horizon: h } => {
                let (nx, nu) = (MPC_NX as u64, MPC_NU as u64);
                vec![
                    a("A", "float", 4, &[nx, nx], false),
                    a("B", "float", 4, &[nx, nu], false),
                    a("K", "float", 4, &[nu, nx], false),
                    a("d", "float", 4, &[h, nu], false),
                    a("x0", "float", 4, &[nx], false),
                    a("xu", "float", 4, &[h, nu + nx], true),
                ]
            }
            Kind::MpcBackward { horizon: h } => {
                let (nx, nu) = (MPC_NX as u64, MPC_NU as u64);
                vec![
                    a("Bt", "float", 4, &[nu, nx], false),
                    a("C1", "float", 4, &[nu, nu], false),
                    a("C2", "float", 4, &[nx, nx], false),
                    a("KinfT", "float", 4, &[nx, nu], false),
                    a("q", "float", 4, &[h, nx], false),
                    a("r", "float", 4, &[h, nu], false),
                    a("pN", "float", 4, &[nx], false),
                    a("dp", "float", 4, &[h.saturating_sub(1), nu + nx], true),
                ]
            }
            Kind::AutocompAdmm { prob } => autocomp::arrays(prob),
        }
    }

    /// The index of the output array among [`Workload::arrays`].
    pub fn output_index(&self) -> usize {
        self.arrays().iter().position(|a| a.output).unwrap_or(0)
    }

    /// `void solution(int8_t A[M][K], int8_t B[K][N], int8_t C[M][N])`; for an Autocomp admm problem,
    /// Autocomp's own text (with its `NHORIZON` macro).
    pub fn signature(&self) -> String {
        if let Kind::AutocompAdmm { prob } = self.kind {
            return autocomp::signature(prob).to_string();
        }
        self.prototype()
    }

    /// The solution's declaration with numeric dimensions (what the harness declares).
    pub fn prototype(&self) -> String {
        let args: Vec<String> = self.arrays().iter().map(ArrayArg::declaration).collect();
        format!("void solution({})", args.join(", "))
    }

    /// Inputs from `seed`. GEMMs and convolutions: full-range random int8 values uniform over [-128, 127];
    /// the convolution's padding border is zero (the input is "already padded"), its bias uniform over
    /// [-65536, 65535]. TinyMPC kernels: a seeded quadrotor-like problem (see `workload/mpc.rs`: hover
    /// dynamics at 50 Hz with seeded constants and a small dense perturbation, TinyMPC's cached LQR
    /// matrices, random initial state, feedforward and cost terms), binary32 little-endian.
    pub fn generate_inputs(&self, seed: u64) -> Inputs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut bytes = |n: u64| -> Vec<u8> { (0..n).map(|_| rng.gen::<u8>()).collect() };
        let floats = |arrays: Vec<Vec<f32>>| Inputs {
            arrays: arrays
                .iter()
                .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
                .collect(),
        };
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
            Kind::StridedConv(s) => Inputs {
                arrays: s.generate_inputs(seed),
            },
            Kind::MpcForward { horizon } => floats(mpc::forward_inputs(seed, horizon as usize)),
            Kind::MpcBackward { horizon } => floats(mpc::backward_inputs(seed, horizon as usize)),
            Kind::AutocompAdmm { prob } => floats(autocomp::inputs(prob, seed)),
        }
    }

    /// The expected output in row-major order, computed on the host: exact int8 values for the GEMMs and
    /// convolutions, f64 values for the fp32 kernels (computed from the binary32 inputs without rounding
    /// in between; an fp32 output must match them within the tolerance of [`Workload::check_output`]).
    pub fn reference(&self, inputs: &Inputs) -> Reference {
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
                Reference::Int8(out)
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
                Reference::Int8(out)
            }
            Kind::StridedConv(s) => Reference::Int8(s.reference(&inputs.arrays)),
            Kind::MpcForward { horizon } => {
                Reference::Fp32(mpc::forward_reference(&inputs.floats(), horizon as usize))
            }
            Kind::MpcBackward { horizon } => {
                Reference::Fp32(mpc::backward_reference(&inputs.floats(), horizon as usize))
            }
            Kind::AutocompAdmm { prob } => {
                Reference::Fp32(autocomp::reference(prob, &inputs.floats()))
            }
        }
    }

    /// Checks the bytes of the output array (`got`, little-endian, the whole array) against the reference
    /// for `inputs`. int8 outputs must match exactly. fp32 outputs are compared with a tolerance, because
    /// the accelerator's order of fused multiply-adds differs from any C reference order: element i is
    /// right when it is finite and `|got - want| <= FP32_REL_TOL * max(1, |want|)` (NaN and infinity are
    /// always wrong). The error describes the first wrong element and counts the wrong and the poisoned
    /// ones (an element still holding the [`POISON`] bytes: one byte for int8, four for fp32).
    pub fn check_output(&self, inputs: &Inputs, got: &[u8]) -> Result<(), Mismatch> {
        let arrays = self.arrays();
        let out = &arrays[self.output_index()];
        let eb = out.elem_bytes as usize;
        let n = out.len() as usize;
        let elems: Vec<&[u8]> = got.chunks_exact(eb.max(1)).take(n).collect();
        let poison = vec![POISON; eb];
        let poisoned = elems.iter().filter(|e| **e == poison.as_slice()).count();
        // (index, got, want) of the wrong elements, rendered lazily: only the first is shown.
        let (wrong, first): (usize, Option<(usize, String, String)>) = match self.reference(inputs)
        {
            Reference::Int8(want) => {
                let bad = |i: usize| elems.get(i).is_none_or(|e| e[0] as i8 != want[i]);
                let count = (0..want.len()).filter(|&i| bad(i)).count();
                let first = (0..want.len()).find(|&i| bad(i)).map(|i| {
                    let g = elems
                        .get(i)
                        .map_or("(missing)".to_string(), |e| (e[0] as i8).to_string());
                    (i, g, want[i].to_string())
                });
                (count, first)
            }
            Reference::Fp32(want) => {
                let value = |i: usize| -> Option<f32> {
                    let e: &[u8] = elems.get(i)?;
                    <[u8; 4]>::try_from(e).ok().map(f32::from_le_bytes)
                };
                let bad = |i: usize| value(i).is_none_or(|g| !fp32_close(g, want[i]));
                let count = (0..want.len()).filter(|&i| bad(i)).count();
                let first = (0..want.len()).find(|&i| bad(i)).map(|i| {
                    let g = value(i).map_or("(missing)".to_string(), |g| format!("{g:e}"));
                    let tol = FP32_REL_TOL * want[i].abs().max(1.0);
                    (i, g, format!("{:e} (within {tol:.1e})", want[i]))
                });
                (count, first)
            }
        };
        match first {
            None => Ok(()),
            Some((index, got_text, want_text)) => Err(Mismatch {
                index,
                got: got_text,
                want: want_text,
                got_is_poison: elems.get(index).is_some_and(|e| *e == poison.as_slice()),
                wrong,
                total: n,
                poisoned,
                elem_bytes: eb,
            }),
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
    /// `stdbool.h` force-included (like the candidate), declares the solution, and in `main` (M-mode)
    /// programs PMP and `mcounteren` from the context table the host fills, then enters the solution in
    /// U-mode through `__gf_call_user` with the array addresses from the pointer table. The scratch-heap
    /// allocator it defines (`malloc`, `free`, `calloc`, `realloc`, `aligned_alloc`, `memalign`,
    /// `posix_memalign`, `malloc_usable_size`, `sbrk`) runs in U-mode with its state in the candidate's
    /// writable data; exhausting the heap ends the run with an `ecall` ([`OOM_ECALL`]).
    pub fn harness_c(&self) -> String {
        let arrays = self.arrays();
        let n = arrays.len();
        let mut s = String::new();
        s.push_str(&format!(
            "/* Generated by gemforge for workload {} ({}). Do not edit. */\n",
            self.name,
            self.shape()
        ));
        s.push_str("#include <stdint.h>\n#include <stddef.h>\n#include <string.h>\n#include \"gemmini.h\"\n\n");
        s.push_str(&format!("{};\n\n", self.prototype()));
        s.push_str("/* Written by the host after loading (machine-only data): the addresses of the arrays in argument\n   order, and the candidate's context (stack pointer, mcounteren, pmpcfg0, pmpcfg2, pmpaddr0-15). */\n");
        s.push_str(&format!(
            "static volatile uint64_t {SYM_ARGS}[{n}] __attribute__((used, aligned(8))) = {{{}}};\n",
            vec!["1"; n].join(", ")
        ));
        s.push_str(&format!(
            "static volatile uint64_t {SYM_CTX}[{CTX_WORDS}] __attribute__((used, aligned(8))) = {{{}}};\n",
            vec!["1"; CTX_WORDS].join(", ")
        ));
        s.push_str(&format!(
            "static volatile uint32_t {SYM_DONE} __attribute__((used, aligned(8))) = 1;\n\n"
        ));
        s.push_str(HARNESS_HEAP);
        s.push_str(HARNESS_CALL);
        let params: Vec<String> = (0..n).map(|_| "uint64_t".to_string()).collect();
        s.push_str(&format!("long __gf_call_user({});\n\n", params.join(", ")));
        s.push_str("__attribute__((section(\".gf_machine.text.main\"))) int main(void) {\n");
        s.push_str(
            "  /* PMP, counters: the candidate's view of the machine (machine-mode only). */\n",
        );
        for i in 0..16 {
            s.push_str(&format!(
                "  GF_CSRW(0x{:x}, {SYM_CTX}[{}]);\n",
                0x3b0 + i,
                CTX_PMPADDR + i
            ));
        }
        s.push_str(&format!("  GF_CSRW(0x3a0, {SYM_CTX}[{CTX_PMPCFG0}]);\n"));
        s.push_str(&format!("  GF_CSRW(0x3a2, {SYM_CTX}[{CTX_PMPCFG2}]);\n"));
        s.push_str(&format!("  GF_CSRW(0x306, {SYM_CTX}[{CTX_COUNTEREN}]);\n"));
        let args: Vec<String> = (0..n).map(|i| format!("{SYM_ARGS}[{i}]")).collect();
        s.push_str(&format!(
            "  long rc = __gf_call_user({});\n",
            args.join(", ")
        ));
        s.push_str(&format!(
            "  {SYM_DONE} = rc == 0 ? 0x{DONE_MAGIC:x}u : (uint32_t)rc;\n"
        ));
        s.push_str("  return rc == 0 ? 0 : 3;\n}\n");
        s
    }
}

/// The harness's scratch-heap allocator (U-mode code, state in the candidate's writable data; the host
/// writes start, next and end). A bump allocator with a 16-byte header holding each block's size: `free`
/// of the most recent block gives its space back, other frees keep it; blocks are 16-byte aligned.
const HARNESS_HEAP: &str = r#"/* The candidate's scratch heap: [start, end), next = the first free byte (written by the host). */
static char *__gemforge_heap[3] __attribute__((used, aligned(8), section(".gf_user.data.gemforge_heap")));
#define GF_USER __attribute__((section(".gf_user.text.gemforge_heap")))
#define GF_OOM 0x6f6f6d

GF_USER __attribute__((noreturn, noinline)) static void gf_out_of_memory(size_t n) {
  register size_t a0 __asm__("a0") = n;
  register long a7 __asm__("a7") = GF_OOM;
  __asm__ volatile("ecall" :: "r"(a0), "r"(a7) : "memory");
  for (;;) {}
}

GF_USER static void *gf_alloc(size_t align, size_t n) {
  if (align < 16) align = 16;
  if (align & (align - 1)) return NULL;
  uintptr_t next = (uintptr_t)__gemforge_heap[1], end = (uintptr_t)__gemforge_heap[2];
  uintptr_t p = (next + 16 + align - 1) & ~(uintptr_t)(align - 1);
  size_t rounded = (n + 15) & ~(size_t)15;
  if (p < next || rounded < n || p > end || end - p < rounded) gf_out_of_memory(n);
  ((size_t *)p)[-2] = rounded;
  __gemforge_heap[1] = (char *)(p + rounded);
  return (void *)p;
}

GF_USER void *malloc(size_t n) { return gf_alloc(16, n); }
GF_USER void *aligned_alloc(size_t align, size_t n) { return gf_alloc(align, n); }
GF_USER void *memalign(size_t align, size_t n) { return gf_alloc(align, n); }
GF_USER int posix_memalign(void **out, size_t align, size_t n) {
  void *p = gf_alloc(align, n);
  if (!p) return 22;
  *out = p;
  return 0;
}
GF_USER size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-2] : 0; }
GF_USER void free(void *p) {
  if (p && (char *)p + ((size_t *)p)[-2] == __gemforge_heap[1]) __gemforge_heap[1] = (char *)p - 16;
}
GF_USER void *calloc(size_t a, size_t b) {
  size_t n = a * b;
  if (b && n / b != a) gf_out_of_memory(SIZE_MAX);
  void *p = gf_alloc(16, n);
  memset(p, 0, n);
  return p;
}
GF_USER void *realloc(void *p, size_t n) {
  if (!p) return gf_alloc(16, n);
  size_t old = ((size_t *)p)[-2];
  if (n <= old) return p;
  if ((char *)p + old == __gemforge_heap[1]) {
    size_t rounded = (n + 15) & ~(size_t)15;
    if (rounded < n || (size_t)(__gemforge_heap[2] - (char *)p) < rounded) gf_out_of_memory(n);
    ((size_t *)p)[-2] = rounded;
    __gemforge_heap[1] = (char *)p + rounded;
    return p;
  }
  void *q = gf_alloc(16, n);
  memcpy(q, p, old);
  return q;
}
GF_USER void *sbrk(ptrdiff_t incr) {
  char *old = __gemforge_heap[1];
  if (incr > __gemforge_heap[2] - old || incr < __gemforge_heap[0] - old) gf_out_of_memory((size_t)incr);
  __gemforge_heap[1] = old + incr;
  return old;
}

"#;

/// The harness's privilege switch (machine-only code). `__gf_call_user(args...)` saves the harness's
/// registers on its own stack (kept in mscratch), points mtvec at `__gf_user_trap`, and `mret`s into
/// `solution` in U-mode with the candidate's stack pointer and `ra = __gf_user_return`, which U-mode may
/// not execute. Under the host's supervision the run ends at that fetch fault. Without it, the fault
/// enters `__gf_user_trap`, which restores the harness and returns 0 for that return, mcause + 1 for any
/// other trap.
const HARNESS_CALL: &str = r#"/* csrw under -march=rv64im: Zicsr is enabled for the one instruction. */
#define GF_CSRW(csr, v) \
  __asm__ volatile(".option push\n.option arch, +zicsr\ncsrw " #csr ", %0\n.option pop" :: "r"(v))

__asm__(
  "  .pushsection .gf_machine.text.gf_call_user, \"ax\", @progbits\n"
  "  .option push\n"
  "  .option arch, +zicsr\n"
  "  .globl __gf_call_user\n"
  "  .type __gf_call_user, @function\n"
  "  .balign 16\n"
  "__gf_call_user:\n"
  "  addi sp, sp, -128\n"
  "  sd ra, 0(sp)\n  sd gp, 8(sp)\n  sd tp, 16(sp)\n  sd s0, 24(sp)\n  sd s1, 32(sp)\n"
  "  sd s2, 40(sp)\n  sd s3, 48(sp)\n  sd s4, 56(sp)\n  sd s5, 64(sp)\n  sd s6, 72(sp)\n"
  "  sd s7, 80(sp)\n  sd s8, 88(sp)\n  sd s9, 96(sp)\n  sd s10, 104(sp)\n  sd s11, 112(sp)\n"
  "  csrw mscratch, sp\n"
  "  la t0, __gf_user_trap\n"
  "  csrw mtvec, t0\n"
  "  la t0, solution\n"
  "  csrw mepc, t0\n"
  "  li t0, 0x1800\n"
  "  csrc mstatus, t0\n"
  "  la t0, __gemforge_harness_ctx\n"
  "  ld sp, 0(t0)\n"
  "  la ra, __gf_user_return\n"
  "  li t0, 0\n  li t1, 0\n  li t2, 0\n  li s0, 0\n  li s1, 0\n  li s2, 0\n  li s3, 0\n"
  "  li s4, 0\n  li s5, 0\n  li s6, 0\n  li s7, 0\n  li s8, 0\n  li s9, 0\n  li s10, 0\n  li s11, 0\n"
  "  mret\n"
  "  .size __gf_call_user, . - __gf_call_user\n"
  "  .globl __gf_user_return\n"
  "  .balign 16\n"
  "__gf_user_return:\n"
  "  j __gf_user_return\n"
  "  .balign 16\n"
  "__gf_user_trap:\n"
  "  csrr sp, mscratch\n"
  "  ld ra, 0(sp)\n  ld gp, 8(sp)\n  ld tp, 16(sp)\n  ld s0, 24(sp)\n  ld s1, 32(sp)\n"
  "  ld s2, 40(sp)\n  ld s3, 48(sp)\n  ld s4, 56(sp)\n  ld s5, 64(sp)\n  ld s6, 72(sp)\n"
  "  ld s7, 80(sp)\n  ld s8, 88(sp)\n  ld s9, 96(sp)\n  ld s10, 104(sp)\n  ld s11, 112(sp)\n"
  "  addi sp, sp, 128\n"
  "  csrr a0, mcause\n"
  "  csrr t0, mepc\n"
  "  la t1, __gf_user_return\n"
  "  bne t0, t1, 1f\n"
  "  li t1, 1\n"
  "  bne a0, t1, 1f\n"
  "  li a0, 0\n"
  "  ret\n"
  "1:\n"
  "  addi a0, a0, 1\n"
  "  ret\n"
  "  .option pop\n"
  "  .popsection\n"
);

"#;

/// Every workload: the six paper GEMMs, the nine schedule-reuse GEMMs, the four convolutions (batch 4),
/// ResNet-50's layer shapes (batch 4; group "resnet50"), the two TinyMPC kernels (fp32), and small ones for
/// tests.
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
    // ResNet-50 v1.5 at batch 4: every distinct layer shape (workload/resnet50.rs).
    v.extend(resnet50::layers().into_iter().map(|(w, _)| w));
    v.push(Workload::mpc_forward("tinympc_forward", "mpc", 5));
    v.push(Workload::mpc_backward("tinympc_backward", "mpc", 10));
    for prob in 0..autocomp::ADMM_PROBLEMS {
        v.push(Workload::autocomp_admm(prob));
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
    v.extend(strided::test_workloads());
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
                    "autocomp": autocomp::problem_of(&w.name)
                        .map(|(t, i)| serde_json::json!({"prob_type": t, "prob_id": i})),
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
        assert_eq!(ws.iter().filter(|w| w.group == "resnet50").count(), 24);
        let fc = by_name("resnet50_fc_2048_1000").unwrap();
        assert_eq!(fc.macs(), 4 * 1000 * 2048);
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
        let Reference::Int8(r) = w.reference(&inp) else {
            panic!("a GEMM has an int8 reference")
        };
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
        assert_eq!(w.reference(&inp), Reference::Int8(vec![11]));
        inp.arrays[2] = 1000i32.to_le_bytes().to_vec();
        assert_eq!(w.reference(&inp), Reference::Int8(vec![127]));
    }

    #[test]
    fn harness_mentions_signature() {
        let w = by_name("conv_b1_8x16").unwrap();
        let h = w.harness_c();
        assert!(h.contains("void solution(int8_t inp[1][10][10][16], int8_t weights[3][3][16][16], int32_t bias[1][16], int8_t output[1][8][8][16]);"), "{h}");
        // The call passes the host's four addresses in argument order, in U-mode, after PMP is set.
        assert!(
            h.contains("long rc = __gf_call_user(__gemforge_harness_args[0], __gemforge_harness_args[1], __gemforge_harness_args[2], __gemforge_harness_args[3]);"),
            "{h}"
        );
        let pmp = h.find("GF_CSRW(0x3a0").expect("pmpcfg0 written");
        assert!(pmp < h.find("long rc = __gf_call_user").unwrap(), "{h}");
        assert!(
            h.contains(".gf_machine.text.main") && h.contains("la ra, __gf_user_return"),
            "{h}"
        );
        assert_eq!(w.output_index_str(8 * 16 + 3), "output[0][1][0][3]");
    }

    #[test]
    fn mpc_workloads_are_fp32_with_float_arrays() {
        for name in ["tinympc_forward", "tinympc_backward"] {
            let w = by_name(name).unwrap();
            assert_eq!((w.group, w.input_type()), ("mpc", "fp32"));
            assert!(w
                .arrays()
                .iter()
                .all(|a| a.ctype == "float" && a.elem_bytes == 4));
            assert_eq!(w.arrays().iter().filter(|a| a.output).count(), 1);
            let inp = w.generate_inputs(3);
            assert_ne!(inp, w.generate_inputs(4), "seeds give fresh inputs");
            assert_eq!(inp, w.generate_inputs(3), "deterministic");
            let h = w.harness_c();
            assert!(h.contains(&format!("{};", w.signature())), "{h}");
        }
        let f = by_name("tinympc_forward").unwrap();
        assert_eq!(
            f.signature(),
            "void solution(float A[12][12], float B[12][4], float K[4][12], float d[5][4], float x0[12], \
             float xu[5][16])"
        );
        assert!(f
            .harness_c()
            .contains("__gf_call_user(__gemforge_harness_args[0], __gemforge_harness_args[1]"));
        assert_eq!((f.macs(), f.ideal_cycles(4)), (1200, 75));
        let b = by_name("tinympc_backward").unwrap();
        assert!(b.signature().ends_with("float pN[12], float dp[9][16])"));
        assert_eq!((b.macs(), b.ideal_cycles(4)), (2304, 144));
        assert_eq!(b.output_index_str(16 + 5), "dp[1][5]");
        assert!(by_name("gemm_16x16x16").unwrap().input_type() == "int8");
    }

    #[test]
    fn int8_outputs_are_checked_exactly() {
        let w = by_name("gemm_16x16x16").unwrap();
        let inp = w.generate_inputs(2);
        let Reference::Int8(want) = w.reference(&inp) else {
            panic!("int8")
        };
        let mut got: Vec<u8> = want.iter().map(|&x| x as u8).collect();
        assert_eq!(w.check_output(&inp, &got), Ok(()));
        got[33] = got[33].wrapping_add(1);
        let m = w.check_output(&inp, &got).unwrap_err();
        assert_eq!((m.index, m.wrong, m.total), (33, 1, 256));
        assert_eq!(w.output_index_str(m.index), "C[2][1]");
        assert_eq!(m.poison_pattern(), "0x5A");
        got.fill(POISON);
        let m = w.check_output(&inp, &got).unwrap_err();
        assert_eq!(m.poisoned, 256);
    }
}
