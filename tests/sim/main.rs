//! Tests of the co-simulator (`gemforge::sim`) as one test binary, so the Verilated model is linked once
//! for all of them: whole C programs on the hart and the accelerator (`cosim`, `hart`), random command
//! streams on both engines (`differential`), one directed test per rule of docs/accelerator.md
//! (`directed_rtl`), the fp32 arithmetic package (`fp32_fma`), LOOP_CONV_WS on an fp32 configuration with
//! Gemmini's element strides (`fp32_conv`), the C headers and their software library
//! (`headers`, `library`) and RTL variants built on demand (`variants`).
//!
//! Run one module with a filter, e.g. `cargo test --release --test sim differential::`.

/// The seeded generators of legal command streams that the differential and variant tests draw from.
#[path = "../support/gen.rs"]
mod gen;

mod cosim;
mod differential;
mod directed_rtl;
mod fp32_conv;
mod fp32_fma;
mod hart;
mod headers;
mod library;
mod variants;
