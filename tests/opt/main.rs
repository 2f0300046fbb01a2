//! Tests of the optimizer (`gemforge::opt`) as one test binary, so the Verilated model is linked once for
//! all of them: the built-in proposer (`builtin`), the LLM providers and prompts against scripted servers
//! (`llm`), the search end to end (`search`), search and bench through a real one-node Slurm cluster
//! (`slurm`) and the run viewer (`viewer`).
//!
//! Run one module with a filter, e.g. `cargo test --release --test opt search::`.

#[path = "../support/llm_server.rs"]
mod llm_server;

mod builtin;
mod llm;
mod search;
mod slurm;
mod viewer;
