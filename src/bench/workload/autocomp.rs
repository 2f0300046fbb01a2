//! Autocomp's Gemmini problems in gemforge's catalogue (issue 18; docs/autocomp.md).
//!
//! Autocomp (ucb-bar/autocomp) names a problem by `(prob_type, prob_id)` and evaluates a candidate by
//! pasting the body of its `solution(...)` into the problem's C test harness. This module holds
//! (a) the mapping from each of its Gemmini problems (`exo`, `exo-conv`, `gemm`, `admm-multifunction`) to
//! the gemforge workload that judges it, and (b) the three `admm-multifunction` problems (TinyMPC kernels,
//! fp32 on a 4x4 array) as workloads of their own: their exact `solution` signatures, the macros and
//! helper functions of their harnesses (`NHORIZON`, `negate_matrix`, `add_matrix`, `full_matscale`, ...;
//! the short-form API with the argument counts of Autocomp's ISA prompt for them, the two-argument
//! `config_st(stride, scale)` and `config_ld` with or without the block stride, is gemmini.h's), seeded realistic inputs from
//! the TinyMPC model of `mpc.rs`, and f64 references with the semantics of the harnesses' own references.
//!
//! Everything here was written for gemforge from the facts of Autocomp's harnesses and prompts; no code of
//! Autocomp is copied. Where a harness lets the candidate write an array besides the checked output (the
//! state trajectory `x` of problem 1, the cost-to-go `p` of problem 2), that array is a *work* array:
//! initialized by the host, writable, and not checked, exactly as Autocomp checks only the output.

use super::{mpc, ArrayArg};

/// The admm-multifunction problems (ids 0, 1, 2).
pub const ADMM_PROBLEMS: u8 = 3;

/// Every Autocomp Gemmini problem and the gemforge workload that judges it: `(prob_type, prob_id,
/// workload)`. The exo and gemm problems are int8 GEMMs (harness `MAT_DIM_I x MAT_DIM_J x MAT_DIM_K` =
/// M x N x K), the exo-conv problems 3x3 stride-1 convolutions of batch 4, the admm-multifunction
/// problems the fp32 TinyMPC kernels of this module.
pub const PROBLEMS: [(&str, u32, &str); 22] = [
    ("exo", 0, "gemm_512x512x512"),
    ("exo", 1, "gemm_12544x256x64"),
    ("exo", 2, "gemm_12544x64x256"),
    ("exo", 3, "gemm_3136x512x128"),
    ("exo", 4, "gemm_3136x128x512"),
    ("exo", 5, "gemm_784x1024x256"),
    ("exo-conv", 0, "conv_56x64"),
    ("exo-conv", 1, "conv_28x128"),
    ("exo-conv", 2, "conv_14x256"),
    ("exo-conv", 3, "conv_14x128"),
    ("gemm", 0, "gemm_32x2048x2048"),
    ("gemm", 1, "gemm_1024x1024x1024"),
    ("gemm", 2, "gemm_256x256x256"),
    ("gemm", 3, "gemm_6272x256x64"),
    ("gemm", 4, "gemm_12544x128x64"),
    ("gemm", 5, "gemm_12544x256x128"),
    ("gemm", 6, "gemm_128x1024x1024"),
    ("gemm", 7, "gemm_64x1024x1024"),
    ("gemm", 8, "gemm_32x1024x1024"),
    ("admm-multifunction", 0, "admm_input_step"),
    ("admm-multifunction", 1, "admm_forward_pass"),
    ("admm-multifunction", 2, "admm_backward_pass"),
];

/// The gemforge workload of Autocomp problem `(prob_type, prob_id)`.
pub fn workload_for(prob_type: &str, prob_id: u32) -> Option<&'static str> {
    PROBLEMS
        .iter()
        .find(|(t, i, _)| *t == prob_type && *i == prob_id)
        .map(|p| p.2)
}

/// The Autocomp problem `(prob_type, prob_id)` a gemforge workload judges, if any.
pub fn problem_of(workload: &str) -> Option<(&'static str, u32)> {
    PROBLEMS
        .iter()
        .find(|p| p.2 == workload)
        .map(|&(t, i, _)| (t, i))
}

/// The configuration an Autocomp problem's data type needs: Autocomp ran its int8 problems on Gemmini's
/// default 16x16 configuration and the admm-multifunction ones on a 4x4 fp32 one. The path is absolute
/// when the file is where this build's source tree has it, else relative to a gemforge checkout.
pub fn config_for(input_type: &str) -> String {
    let rel = if input_type == "fp32" {
        "rtl/configs/fp32_4x4.toml"
    } else {
        "rtl/configs/default.toml"
    };
    let abs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if abs.is_file() {
        abs.display().to_string()
    } else {
        rel.to_string()
    }
}

/// `gemforge workloads --autocomp`: every Autocomp problem with its workload, as a table or a JSON array.
/// JSON rows: `prob_type`, `prob_id`, `workload`, `group`, `input_type`, `config` (the configuration file
/// to evaluate it on), `signature`, `body_only` (whether `gemforge eval` itself takes the candidate as a
/// solution body), `macs`, and from the configuration `dim`, `ideal_cycles`, `spad_kib`, `acc_kib`,
/// `sp_rows`, `acc_rows` (null when the file cannot be read).
pub fn mapping(json: bool) -> String {
    let rows: Vec<(&str, u32, super::Workload)> = PROBLEMS
        .iter()
        .filter_map(|&(t, i, name)| super::by_name(name).map(|w| (t, i, w)))
        .collect();
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(t, i, w)| {
                let config = config_for(w.input_type());
                let cfg =
                    crate::sim::config::HwConfig::from_file(std::path::Path::new(&config)).ok();
                serde_json::json!({
                    "prob_type": t,
                    "prob_id": i,
                    "workload": w.name,
                    "group": w.group,
                    "input_type": w.input_type(),
                    "config": config,
                    "signature": w.signature(),
                    "body_only": w.autocomp_admm_problem().is_some(),
                    "macs": w.macs(),
                    "dim": cfg.as_ref().map(|c| c.dim()),
                    "ideal_cycles": cfg.as_ref().map(|c| w.ideal_cycles(c.dim())),
                    "spad_kib": cfg.as_ref().map(|c| c.scratchpad.capacity_kib),
                    "acc_kib": cfg.as_ref().map(|c| c.accumulator.capacity_kib),
                    "sp_rows": cfg.as_ref().map(|c| c.sp_rows()),
                    "acc_rows": cfg.as_ref().map(|c| c.acc_rows()),
                })
            })
            .collect();
        return serde_json::Value::Array(v).to_string();
    }
    let mut s = format!(
        "{:<19} {:>7}  {:<20} {:<5} {:<10} {}\n",
        "prob_type", "prob_id", "workload", "type", "config", "shape"
    );
    for (t, i, w) in &rows {
        let config = config_for(w.input_type());
        let file = config.rsplit('/').next().unwrap_or(&config).to_string();
        s.push_str(&format!(
            "{:<19} {:>7}  {:<20} {:<5} {:<10} {}\n",
            t,
            i,
            w.name,
            w.input_type(),
            file.trim_end_matches(".toml"),
            w.shape()
        ));
    }
    s.push_str(
        "Autocomp's Gemmini problems (harnesses/<prob_type>/test<prob_id>.c) and the gemforge workloads that \
         judge them: gemforge eval --workload W --config rtl/configs/<config>.toml candidate.c\n",
    );
    s
}

/// The workload name of admm-multifunction problem `prob`.
pub fn admm_name(prob: u8) -> &'static str {
    match prob {
        0 => "admm_input_step",
        1 => "admm_forward_pass",
        _ => "admm_backward_pass",
    }
}

/// `NHORIZON` of the problem's harness (problem 0 has no horizon: one step).
pub fn nhorizon(prob: u8) -> u64 {
    match prob {
        0 => 1,
        1 => 5,
        _ => 10,
    }
}

const NX: u64 = mpc::NX as u64;
const NU: u64 = mpc::NU as u64;

/// The solution's arrays in argument order (all binary32). The dimensions are those of the arrays the
/// harness allocates; the signature ([`signature`]) is Autocomp's text.
pub(crate) fn arrays(prob: u8) -> Vec<ArrayArg> {
    let f = |name, dims: &[u64], role: u8| ArrayArg {
        name,
        ctype: "float",
        elem_bytes: 4,
        dims: dims.to_vec(),
        output: role == OUT,
        work: role == WORK,
    };
    let h = nhorizon(prob);
    match prob {
        0 => vec![
            f("Kinf", &[NX, NU], IN),
            f("x_i", &[NX, 1], IN),
            f("d_i", &[NU, 1], IN),
            f("u_i", &[NU, 1], OUT),
        ],
        1 => vec![
            f("Adyn", &[NX, NX], IN),
            f("Bdyn", &[NX, NU], IN),
            f("Kinf", &[NU, NX], IN),
            f("x", &[h + 1, NX, 1], WORK),
            f("d", &[h, NU, 1], IN),
            f("u", &[h, NU, 1], OUT),
        ],
        _ => vec![
            f("Bdyn", &[NX, NU], IN),
            f("Quu_inv", &[NU, NU], IN),
            f("Kinf", &[NU, NX], IN),
            f("AmBKt", &[NX, NX], IN),
            f("p", &[h, NX, 1], WORK),
            // The harness checks d[0 .. NHORIZON-2]: the rows the recursion computes.
            f("d", &[h - 1, NU, 1], OUT),
            f("r", &[h, NU, 1], IN),
            f("q", &[h, NX, 1], IN),
        ],
    }
}

const IN: u8 = 0;
const OUT: u8 = 1;
const WORK: u8 = 2;

/// Autocomp's `solution` signature of the problem, as its published programs and prompts show it (problem
/// 1's published programs lack the comma after `Bdyn[12][4]`; Autocomp compiles only the body, and so does
/// gemforge: see [`wrap_candidate`]).
pub fn signature(prob: u8) -> &'static str {
    match prob {
        0 => "void solution(float Kinf[12][4], float x_i[12][1], float d_i[4][1], float u_i[4][1])",
        1 => {
            "void solution(float Adyn[12][12], float Bdyn[12][4], float Kinf[4][12], \
             float x[NHORIZON + 1][12][1], float d[NHORIZON][4][1], float u[NHORIZON][4][1])"
        }
        _ => {
            "void solution(float Bdyn[12][4], float Quu_inv[4][4], float Kinf[4][12], float AmBKt[12][12], \
             float p[NHORIZON + 1][12][1], float d[NHORIZON + 1][4][1], float r[NHORIZON][4][1], \
             float q[NHORIZON][12][1])"
        }
    }
}

/// "u = -Kinf^T x - d, 12 states" and the like (4 inputs throughout).
pub(crate) fn shape(prob: u8) -> String {
    match prob {
        0 => "u = -Kinf^T x - d, 12 states".to_string(),
        1 => format!("forward, 12 states, horizon {}", nhorizon(1)),
        _ => format!("backward, 12 states, horizon {}", nhorizon(2)),
    }
}

/// Multiply-adds of the harness's reference: problem 0 one 4x12 product; problem 1 per step Kinf x
/// (4x12), Adyn x (12x12), Bdyn u (12x4); problem 2 per step (NHORIZON-1 steps) Bdyn^T p (4x12),
/// Quu_inv^T (4x4), Kinf^T r (12x4), AmBKt p (12x12).
pub(crate) fn macs(prob: u8) -> u64 {
    match prob {
        0 => NU * NX,
        1 => nhorizon(1) * (NU * NX + NX * NX + NX * NU),
        _ => (nhorizon(2) - 1) * (NU * NX + NU * NU + NX * NU + NX * NX),
    }
}

/// A work array's rows the candidate must compute before reading them hold this binary32 value (the
/// poison pattern 0x5A5A5A5A, about 1.5e16), so a program that reads them first is wrong.
fn unwritten() -> f32 {
    f32::from_bits(0x5A5A_5A5A)
}

fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// The inputs of one run from `seed`: the values of every array but the output, in argument order. The
/// matrices come from the seeded quadrotor problem of `mpc.rs` (dynamics, LQR gain, cached Riccati
/// matrices), the vectors from its initial states, feedforward and cost terms, so every value is a
/// realistic, normal binary32 number (Autocomp's harnesses use sparse 0/1 values).
pub(crate) fn inputs(prob: u8, seed: u64) -> Vec<Vec<f32>> {
    let (nx, nu) = (mpc::NX, mpc::NU);
    match prob {
        0 => {
            // forward_inputs: A, B, K (4x12), d, x0. The harness's Kinf is stored 12x4 (K transposed).
            let f = mpc::forward_inputs(seed, 1);
            vec![transpose(&f[2], nu, nx), f[4].clone(), f[3].clone()]
        }
        1 => {
            let h = nhorizon(1) as usize;
            let f = mpc::forward_inputs(seed, h);
            let mut x = vec![unwritten(); (h + 1) * nx];
            x[..nx].copy_from_slice(&f[4]);
            vec![f[0].clone(), f[1].clone(), f[2].clone(), x, f[3].clone()]
        }
        _ => {
            // backward_inputs: Bt (4x12), C1 = Quu^-1, C2 = (A - B Kinf)^T, KinfT (12x4), q, r, pN.
            let h = nhorizon(2) as usize;
            let b = mpc::backward_inputs(seed, h);
            let mut p = vec![unwritten(); h * nx];
            p[(h - 1) * nx..].copy_from_slice(&b[6]);
            vec![
                transpose(&b[0], nu, nx),
                // The harness computes d = Quu_inv^T (...): store C1 transposed so that d = C1 (...).
                transpose(&b[1], nu, nu),
                transpose(&b[3], nx, nu),
                b[2].clone(),
                p,
                b[5].clone(),
                b[4].clone(),
            ]
        }
    }
}

/// y = M x (M row-major rows x cols), or M^T x with `t` (M stored cols x rows), in f64.
fn mv(m: &[f32], x: &[f64], rows: usize, cols: usize, t: bool) -> Vec<f64> {
    (0..rows)
        .map(|i| {
            (0..cols)
                .map(|j| {
                    let e = if t { m[j * rows + i] } else { m[i * cols + j] };
                    f64::from(e) * x[j]
                })
                .sum()
        })
        .collect()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// The expected output, in f64 from the binary32 inputs (`inp` as [`inputs`] returns them), with the
/// semantics of the harness's reference (`tiled_matmul_outer_eigen(A, B, C, I, K, J, A_transpose, ...)`
/// is C = op(A) B):
/// - problem 0: `u_i = -(Kinf^T x_i + d_i)`;
/// - problem 1: for i < NHORIZON: `u[i] = -Kinf x[i] - d[i]`, `x[i+1] = Adyn x[i] + Bdyn u[i]`; output u;
/// - problem 2: for i = NHORIZON-2 down to 0: `d[i] = Quu_inv^T (Bdyn^T p[i+1] + r[i])`,
///   `p[i] = q[i] + AmBKt p[i+1] - Kinf^T r[i]`; output d[0 .. NHORIZON-2].
pub(crate) fn reference(prob: u8, inp: &[Vec<f32>]) -> Vec<f64> {
    let (nx, nu) = (mpc::NX, mpc::NU);
    match prob {
        0 => {
            let kx = mv(&inp[0], &f64s(&inp[1]), nu, nx, true);
            kx.iter()
                .zip(&inp[2])
                .map(|(k, &d)| -(k + f64::from(d)))
                .collect()
        }
        1 => {
            let (a, b, k, x, d) = (&inp[0], &inp[1], &inp[2], &inp[3], &inp[4]);
            let mut x = f64s(&x[..nx]);
            let mut out = Vec::new();
            for t in 0..nhorizon(1) as usize {
                let kx = mv(k, &x, nu, nx, false);
                let u: Vec<f64> = (0..nu).map(|i| -kx[i] - f64::from(d[t * nu + i])).collect();
                let ax = mv(a, &x, nx, nx, false);
                let bu = mv(b, &u, nx, nu, false);
                x = ax.iter().zip(&bu).map(|(p, q)| p + q).collect();
                out.extend(u);
            }
            out
        }
        _ => {
            let h = nhorizon(2) as usize;
            let (bdyn, quu, kinf, ambkt, p, r, q) = (
                &inp[0], &inp[1], &inp[2], &inp[3], &inp[4], &inp[5], &inp[6],
            );
            let mut p = f64s(&p[(h - 1) * nx..]);
            let mut d = vec![0.0; (h - 1) * nu];
            for i in (0..h - 1).rev() {
                let bp = mv(bdyn, &p, nu, nx, true);
                let ri = f64s(&r[i * nu..(i + 1) * nu]);
                let bpr: Vec<f64> = bp.iter().zip(&ri).map(|(x, y)| x + y).collect();
                d[i * nu..(i + 1) * nu].copy_from_slice(&mv(quu, &bpr, nu, nu, true));
                let ap = mv(ambkt, &p, nx, nx, false);
                let kr = mv(kinf, &ri, nx, nu, true);
                p = (0..nx)
                    .map(|j| f64::from(q[i * nx + j]) + ap[j] - kr[j])
                    .collect();
            }
            d
        }
    }
}

/// One-paragraph description of the problem for the LLM prompts.
pub(crate) fn describe(prob: u8, name: &str) -> String {
    let common = "all fp32 (binary32) in row-major order, 12 states and 4 inputs (Autocomp's \
                  admm-multifunction problem";
    match prob {
        0 => format!(
            "Workload `{name}`: one input update of TinyMPC's ADMM solver, {common} 0). Inputs: Kinf \
             (12x4, the LQR gain stored transposed), x_i (12x1), d_i (4x1). Output: u_i = -(Kinf^T x_i) - \
             d_i (4x1)."
        ),
        1 => format!(
            "Workload `{name}`: the forward pass of TinyMPC's ADMM solver, {common} 1), NHORIZON = {h}. \
             Inputs: Adyn (12x12), Bdyn (12x4), Kinf (4x12), x (NHORIZON+1 states of 12x1; x[0] is given, \
             x[1..] may be written as scratch), d (NHORIZON x 4x1). For i = 0 .. NHORIZON-1: u[i] = -Kinf \
             x[i] - d[i] and x[i+1] = Adyn x[i] + Bdyn u[i]. Output: u (NHORIZON x 4x1).",
            h = nhorizon(1)
        ),
        _ => format!(
            "Workload `{name}`: the backward pass of TinyMPC's ADMM solver, {common} 2), NHORIZON = {h}. \
             Inputs: Bdyn (12x4), Quu_inv (4x4), Kinf (4x12), AmBKt (12x12), p (NHORIZON vectors of 12x1; \
             p[NHORIZON-1] is given, the others may be written as scratch), r (NHORIZON x 4x1), q \
             (NHORIZON x 12x1). For i = NHORIZON-2 down to 0: d[i] = Quu_inv^T (Bdyn^T p[i+1] + r[i]) and \
             p[i] = q[i] + AmBKt p[i+1] - Kinf^T r[i]. Output: d[0 .. NHORIZON-2] (4x1 each).",
            h = nhorizon(2)
        ),
    }
}

/// The harness context shared by the three problems (headers, alignment macros, the helper functions of
/// the harnesses).
const PRELUDE: &str = include_str!("autocomp_admm_prelude.h");

/// The problem-specific macros of the harness (`NHORIZON`, the matrix names and sizes of its reference,
/// the output's dimensions).
fn problem_macros(prob: u8) -> String {
    let mut s = String::new();
    let mut def = |k: &str, v: &str| s.push_str(&format!("#define {k} {v}\n"));
    match prob {
        0 => {
            def("A_TRANSPOSE", "1");
            def("A_MATRIX_NAME", "Kinf");
            def("B_MATRIX_NAME", "x_i");
            def("C_MATRIX_NAME", "u_i");
            def("D_MATRIX_NAME", "d_i");
            def("OUTPUT_MATRIX_NAME", "C_MATRIX_NAME");
        }
        p => {
            def("A_TRANSPOSE", "0");
            def("A_MATRIX_NAME", "Kinf");
            def("B_MATRIX_NAME", "x_i");
            def("C_MATRIX_NAME", "u_i");
            def("D_MATRIX_NAME", "d_i");
            def("OUTPUT_MATRIX_NAME", if p == 1 { "u" } else { "d" });
            def("NHORIZON", &nhorizon(p).to_string());
            def("OUTPUT_DIM_1", "NHORIZON");
            def("OUTPUT_DIM_2", "4");
            def("OUTPUT_DIM_3", "1");
        }
    }
    def("B_TRANSPOSE", "0");
    def("NO_BIAS", "0");
    def("REPEATING_BIAS", "0");
    def("SUB_BIAS", "0");
    def("MAT_DIM_I", "4");
    def("MAT_DIM_K", "12");
    def("MAT_DIM_J", "1");
    def("A_ROWS", if prob == 0 { "MAT_DIM_K" } else { "MAT_DIM_I" });
    def("A_COLS", if prob == 0 { "MAT_DIM_I" } else { "MAT_DIM_K" });
    def("B_ROWS", "MAT_DIM_K");
    def("B_COLS", "MAT_DIM_J");
    def("CHECK_RESULT", "1");
    s
}

/// The body of a candidate as Autocomp takes it: when the text contains `void solution(`, what lies
/// between the first `{` after it and the last `}` of the text (anything before `void solution(` is
/// dropped, as Autocomp's `clean_code` drops it); otherwise the whole text is the body. Returns the body
/// and the 1-based line of the text it starts on.
pub fn candidate_body(text: &str) -> Result<(&str, usize), String> {
    let Some(at) = text.find("void solution(") else {
        return Ok((text, 1));
    };
    let rest = &text[at..];
    let open = rest.find('{').ok_or_else(|| {
        "the candidate has `void solution(` but no `{` opening its body".to_string()
    })?;
    let close = rest
        .rfind('}')
        .filter(|&c| c > open)
        .ok_or_else(|| "the candidate's `void solution(...) {` has no closing `}`".to_string())?;
    let start = at + open + 1;
    let line = 1 + text[..start].matches('\n').count();
    Ok((&text[start..at + close], line))
}

/// The C translation unit gemforge compiles for an admm-multifunction candidate: the harness context of
/// problem `prob` (its macros and helpers), then Autocomp's `solution`
/// signature around the candidate's body ([`candidate_body`]), with a `#line` directive so that compiler
/// messages point into the candidate's own file (`origin`).
pub fn wrap_candidate(prob: u8, text: &str, origin: &str) -> Result<String, String> {
    let (body, line) = candidate_body(text)?;
    let origin = origin.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!(
        "/* Generated by gemforge: Autocomp's admm-multifunction problem {prob} ({}), the candidate's \
         solution body inside the harness context. */\n{}\n{PRELUDE}\n{} {{\n#line {line} \"{origin}\"\n{body}\n}}\n",
        admm_name(prob),
        problem_macros(prob),
        signature(prob),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_extraction_follows_autocomp() {
        let whole = "c\nvoid solution(float a[1]) {\n  x();\n}\n";
        assert_eq!(candidate_body(whole).unwrap(), ("\n  x();\n", 2));
        // A bare body is taken whole; a malformed signature line does not matter.
        assert_eq!(candidate_body("  y();\n").unwrap(), ("  y();\n", 1));
        let bad_sig = "void solution(float B[12][4] float K[4][12]) {\n  z();\n}";
        assert_eq!(candidate_body(bad_sig).unwrap().0, "\n  z();\n");
        assert!(candidate_body("void solution(int a);").is_err());
        assert!(candidate_body("void solution(int a) {").is_err());
    }

    #[test]
    fn mapping_covers_every_problem_once() {
        for (t, n) in [
            ("exo", 6u32),
            ("exo-conv", 4),
            ("gemm", 9),
            ("admm-multifunction", 3),
        ] {
            assert_eq!(
                PROBLEMS.iter().filter(|p| p.0 == t).count(),
                n as usize,
                "{t}"
            );
            for id in 0..n {
                let w = workload_for(t, id).unwrap();
                assert!(super::super::by_name(w).is_some(), "{w} is a workload");
                assert_eq!(problem_of(w), Some((t, id)));
            }
        }
        assert_eq!(workload_for("exo", 6), None);
    }

    #[test]
    fn references_follow_the_harness_semantics() {
        // Problem 0 by hand: u = -(Kinf^T x + d).
        let mut kinf = vec![0.0f32; 48];
        kinf[4 + 1] = 2.0; // Kinf[1][1]
        kinf[2 * 4] = -1.0; // Kinf[2][0]
        let mut x = vec![0.0f32; 12];
        x[1] = 3.0;
        x[2] = 5.0;
        let d = vec![0.5f32, 0.0, 0.0, 1.0];
        assert_eq!(reference(0, &[kinf, x, d]), vec![4.5, -6.0, 0.0, -1.0]);
        // Every problem: finite, O(1) and seed-dependent, with the work rows unwritten.
        for prob in 0..ADMM_PROBLEMS {
            let a = inputs(prob, 1);
            let n_in = arrays(prob).iter().filter(|a| !a.output).count();
            assert_eq!(a.len(), n_in);
            let r = reference(prob, &a);
            let out = arrays(prob).into_iter().find(|a| a.output).unwrap();
            assert_eq!(r.len() as u64, out.len());
            assert!(r.iter().all(|v| v.is_finite() && v.abs() < 100.0), "{r:?}");
            assert!(r.iter().any(|v| v.abs() > 1e-3));
            assert_ne!(reference(prob, &inputs(prob, 2)), r);
        }
        assert!(inputs(1, 3)[3][12..].iter().all(|&v| v == unwritten()));
        assert!(inputs(2, 3)[4][..108].iter().all(|&v| v == unwritten()));
    }

    #[test]
    fn wrapped_candidate_has_context_signature_and_line() {
        let src =
            wrap_candidate(1, "void solution(bad sig) {\n  fence();\n}\n", "my \"c\".c").unwrap();
        assert!(src.contains("#define NHORIZON 5\n"), "{src}");
        assert!(src.contains("void negate_matrix(elem_t *in, elem_t *out, int rows, int cols)"));
        assert!(src.contains(&format!(
            "{} {{\n#line 1 \"my \\\"c\\\".c\"\n",
            signature(1)
        )));
    }
}
