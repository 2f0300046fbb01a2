//! Tests of the optimizer (`gemforge::opt`) as one test binary, so the Verilated model is linked once for
//! all of them: the built-in proposer (`builtin`), the LLM providers and prompts against scripted servers
//! (`llm`), the search end to end (`search`), search and bench through a real one-node Slurm cluster
//! (`slurm`), the run viewer (`viewer`) and the schedule-reuse benchmark script (`reuse_bench`).
//!
//! Run one module with a filter, e.g. `cargo test --release --test opt search::`.

#[path = "../support/llm_server.rs"]
mod llm_server;

mod builtin;
mod llm;
mod prior_score;
mod reuse_bench;
mod search;
mod slurm;
mod viewer;
