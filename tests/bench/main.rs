//! Tests of the benchmark suite (`gemforge::bench`) as one test binary, so the Verilated model is linked
//! once for all of them: Autocomp's problems and its Python adapter (`autocomp`), the baselines and
//! schedules end to end (`baselines`), the correctness protocol (`eval`), evaluation integrity against
//! the cheat corpus (`integrity`), the whole-network ResNet-50 program (`resnet50`), the GEMM
//! generator's streamed first panels (`stream_first`) and bank-aligned double buffers (`bank_halves`), the TinyMPC kernels (`tinympc`) and what `-v`
//! prints for eval, bench and sweep (`verbose`).
//!
//! Run one module with a filter, e.g. `cargo test --release --test bench integrity::`.

#[path = "../support/llm_server.rs"]
mod llm_server;

mod autocomp;
mod bank_halves;
mod baselines;
mod eval;
mod integrity;
mod resnet50;
mod stream_first;
mod tinympc;
mod verbose;

/// Writes `code` as `<tmp>/gemforge-<group>-<pid>/<workload>-<tag>.c` and judges it: the spec screens
/// (two with `rtl`, else one) with inputs from `seed`, and the RTL run when `rtl`.
pub fn eval_program(
    group: &str,
    seed: u64,
    w: &gemforge::bench::workload::Workload,
    code: &str,
    tag: &str,
    rtl: bool,
) -> gemforge::bench::eval::Verdict {
    let dir = std::env::temp_dir().join(format!("gemforge-{group}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{tag}.c", w.name));
    std::fs::write(&path, code).unwrap();
    let opts = gemforge::bench::eval::EvalOpts {
        screen_runs: if rtl { 2 } else { 1 },
        rtl,
        seed: Some(seed),
        ..Default::default()
    };
    gemforge::bench::eval::evaluate(
        &gemforge::sim::config::HwConfig::default_config(),
        w,
        &path,
        &opts,
    )
}
