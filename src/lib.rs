//! gemforge: cycle-accurate co-simulation, benchmarking and optimization of Gemmini-compatible tensor
//! accelerators. See docs/accelerator.md for the accelerator's contract.
//!
//! The crate has three parts, and dependencies point one way (opt -> bench -> sim):
//! - [`sim`]: the co-simulator: the ISA, hardware configurations, the RISC-V hart, memory timing, the
//!   accelerator's two engines (functional model and Verilated RTL), the SoC loop and the C toolchain;
//! - [`bench`]: the benchmark suite: workloads, schedules, the correctness protocol (eval), its verdict
//!   cache, baselines, the baseline ladder, sweeps across configurations and simulator speed;
//! - [`opt`]: the optimizer: beam search, proposers (built-in and LLM), prompts, LLM providers and reports.
//!
//! The `gemforge` binary (src/main.rs) parses the command line and calls into these parts.

pub mod bench;
pub mod opt;
pub mod sim;
