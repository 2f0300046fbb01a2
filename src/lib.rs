//! gemforge: cycle-accurate co-simulation, benchmarking and optimization of Gemmini-compatible tensor
//! accelerators. See docs/accelerator.md for the accelerator's contract.

pub mod accel;
pub mod baseline;
pub mod bench;
pub mod config;
pub mod cpu;
pub mod eval;
pub mod isa;
pub mod mem;
pub mod perf;
pub mod propose;
pub mod schedule;
pub mod soc;
pub mod sweep;
pub mod toolchain;
pub mod vbuild;
pub mod workload;
