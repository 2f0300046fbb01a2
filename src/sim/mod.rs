//! The co-simulator: a RISC-V hart and a Gemmini-compatible accelerator, run cycle by cycle.
//!
//! - [`isa`]: RoCC command encoding and decoding, the one definition of the accelerator's ISA;
//! - [`config`]: hardware configurations (TOML), generating the RTL parameter package and the C header;
//! - [`mem`]: main memory and its timing model;
//! - [`cpu`]: the hart (decode, execute, traps, semihosting);
//! - [`accel`]: the [`accel::Accelerator`] trait and its two engines, `spec` (functional, exact) and `rtl`
//!   (the Verilated model), the loop-FSM unrollers and RTL variants built on demand;
//! - [`soc`]: the co-simulation loop joining hart, accelerator and memory;
//! - [`toolchain`]: compiling C for the hart, the compile cache and ELF loading;
//! - [`vbuild`]: Verilating and compiling RTL models (shared with build.rs).

pub mod accel;
pub mod config;
pub mod cpu;
pub mod isa;
pub mod mem;
pub mod soc;
pub mod toolchain;
pub mod vbuild;
