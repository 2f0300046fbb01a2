//! Tests of the benchmark suite (`gemforge::bench`) as one test binary, so the Verilated model is linked
//! once for all of them: Autocomp's problems and its Python adapter (`autocomp`), the baselines and
//! schedules end to end (`baselines`), the correctness protocol (`eval`), evaluation integrity against
//! the cheat corpus (`integrity`), the whole-network ResNet-50 program (`resnet50`), the GEMM
//! generator's streamed first panels (`stream_first`), the TinyMPC kernels (`tinympc`) and what `-v`
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
