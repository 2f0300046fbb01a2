//! The benchmark suite: real workloads, judged strictly, with a ladder of baselines.
//!
//! - [`workload`]: the workload catalogue, inputs and host references;
//! - [`schedule`]: the schedule space and its C generator;
//! - [`eval`]: the correctness protocol for a candidate program (adversarial by assumption);
//! - [`eval_cache`]: the content-addressed verdict cache;
//! - [`executor`]: where evaluations run (this machine, or Slurm jobs on a cluster);
//! - [`baseline`]: naive, library, hand-optimized and hardware-FSM baselines;
//! - [`ladder`]: `gemforge bench`, the baseline ladder over workloads;
//! - [`sweep`]: workloads across hardware configurations;
//! - [`perf`]: the simulator's own speed.

pub mod baseline;
pub mod eval;
pub mod eval_cache;
pub mod executor;
pub mod ladder;
pub mod perf;
pub mod schedule;
pub mod sweep;
pub mod workload;
