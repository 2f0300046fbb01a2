//! Hardware configuration: the TOML file a user edits, validated into [`HwConfig`], and everything derived
//! from it (row counts, address widths, the SystemVerilog configuration package, `gemmini_params.h`).
//!
//! This file is also compiled into `build.rs` (via `#[path]`), so it depends only on serde, toml and
//! thiserror, and knows nothing about simulation.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// A rule a configuration breaks, named by its TOML field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The I/O error is part of the message, not a separate source, so `{:#}` does not print it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: field `{field}` = {value}: {rule}")]
    Invalid {
        path: String,
        field: &'static str,
        value: String,
        rule: String,
    },
}

/// Which dataflows the array supports (spec 4.8 `dataflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataflows {
    /// Weight-stationary only (a config_ex selecting OS is refused with UNSUPPORTED; Gemmini ignores the bit).
    Ws,
    /// Runtime-selectable OS or WS.
    Both,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayConfig {
    /// Rows and columns of the square array; one local-memory row holds `dim` elements.
    pub dim: u32,
    pub dataflows: Dataflows,
    /// Input (and weight) element type: "int8", or "fp32" (with `acc_type = "fp32"`).
    pub input_type: String,
    /// Accumulator element type: "int32" with int8 inputs, "fp32" with fp32 inputs.
    pub acc_type: String,
    /// Width of the partial sums travelling through the array (Gemmini: SInt(20)); integer
    /// configurations only (fp32 partial sums are binary32).
    pub spatial_output_bits: u32,
    /// Gemmini's normalizer (`has_normalizations`): config_norm, the LayerNorm, iGELU and Softmax
    /// activations and normalizer mvouts (docs/accelerator.md section 2.2). Integer configurations only.
    #[serde(default)]
    pub has_normalizations: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemConfig {
    pub capacity_kib: u32,
    pub banks: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmaConfig {
    /// Bytes moved per cycle on the accelerator's memory port (one beat).
    pub beat_bytes: u32,
    /// Largest naturally aligned request, in bytes.
    pub max_bytes: u32,
    pub max_reads_in_flight: u32,
    pub max_writes_in_flight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RsConfig {
    pub ld: u32,
    pub ex: u32,
    pub st: u32,
}

/// Main-memory timing seen by the accelerator's memory port (served by the Rust side).
/// The smallest main memory a program links in: the runtime's 1 MiB stack reservation and the program.
pub const MIN_MEMORY_MIB: u32 = 2;
/// The largest: the top of memory must stay within medany's 2 GiB reach of code at 0x8000_0000.
pub const MAX_MEMORY_MIB: u32 = 2047;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryTiming {
    /// Cycles from accepting a request to the first byte of its response.
    pub latency: u32,
    /// Bytes the memory system moves per cycle (shared by reads and writes).
    pub bytes_per_cycle: u32,
    /// Requests the memory system holds at once (reads and writes together).
    pub max_in_flight: u32,
    /// Size of main memory (at 0x8000_0000), MiB.
    #[serde(default = "default_mem_mib")]
    pub size_mib: u32,
}

fn default_mem_mib() -> u32 {
    256
}

impl Default for MemoryTiming {
    fn default() -> Self {
        MemoryTiming {
            latency: 40,
            bytes_per_cycle: 16,
            max_in_flight: 32,
            size_mib: 256,
        }
    }
}

/// The hart's timing model: cycles each instruction class occupies the in-order, single-issue pipeline
/// (a Rocket-like core; the defaults and their reasons are in rtl/configs/default.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuTiming {
    pub alu: u32,
    pub mul: u32,
    pub div: u32,
    pub load: u32,
    pub store: u32,
    pub branch_taken: u32,
    pub branch_not_taken: u32,
    pub jump: u32,
    pub csr: u32,
    /// Cycles to hand a custom-3 instruction to the accelerator once its command queue has room.
    pub rocc: u32,
    // The classes below came with the A, F and D extensions; a configuration file written before them
    // gets the defaults. Sources: rocket-chip's FPUParams (sfmaLatency = 3, dfmaLatency = 4 pipeline
    // stages, plus the register-file write-back cycle), its FPToInt / IntToFP / FPToFP units (two-stage
    // pipes), and hardfloat's DivSqrtRecFN_small (iterative: about one quotient or root bit per cycle,
    // 24 / 53 significand bits plus setup and rounding); an AMO is a load-hit plus the AMO ALU's cycle in
    // the L1 data cache.
    /// Single-precision add, subtract, multiply and fused multiply-add.
    #[serde(default = "default_fma_s")]
    pub fma_s: u32,
    /// Double-precision add, subtract, multiply and fused multiply-add.
    #[serde(default = "default_fma_d")]
    pub fma_d: u32,
    /// FP compare, min/max, sign injection, classify, moves and conversions.
    #[serde(default = "default_fpu_misc")]
    pub fpu_misc: u32,
    #[serde(default = "default_fdiv_s")]
    pub fdiv_s: u32,
    #[serde(default = "default_fdiv_d")]
    pub fdiv_d: u32,
    #[serde(default = "default_fsqrt_s")]
    pub fsqrt_s: u32,
    #[serde(default = "default_fsqrt_d")]
    pub fsqrt_d: u32,
    /// Atomic memory operations (AMO*.W/.D); LR costs `load` and SC costs `store`.
    #[serde(default = "default_amo")]
    pub amo: u32,
}

fn default_fma_s() -> u32 {
    4
}
fn default_fma_d() -> u32 {
    5
}
fn default_fpu_misc() -> u32 {
    2
}
fn default_fdiv_s() -> u32 {
    27
}
fn default_fdiv_d() -> u32 {
    56
}
fn default_fsqrt_s() -> u32 {
    26
}
fn default_fsqrt_d() -> u32 {
    55
}
fn default_amo() -> u32 {
    3
}

impl Default for CpuTiming {
    fn default() -> Self {
        CpuTiming {
            alu: 1,
            mul: 4,
            div: 33,
            load: 2,
            store: 1,
            branch_taken: 3,
            branch_not_taken: 1,
            jump: 2,
            csr: 1,
            rocc: 1,
            fma_s: default_fma_s(),
            fma_d: default_fma_d(),
            fpu_misc: default_fpu_misc(),
            fdiv_s: default_fdiv_s(),
            fdiv_d: default_fdiv_d(),
            fsqrt_s: default_fsqrt_s(),
            fsqrt_d: default_fsqrt_d(),
            amo: default_amo(),
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwConfig {
    pub name: String,
    pub array: ArrayConfig,
    pub scratchpad: MemConfig,
    pub accumulator: MemConfig,
    pub dma: DmaConfig,
    pub reservation_station: RsConfig,
    #[serde(default)]
    pub memory: MemoryTiming,
    #[serde(default)]
    pub cpu: CpuTiming,
}

/// `isa::NORM_STAT_IDS` for the generated header (this file is also compiled into build.rs, without
/// `isa`; a unit test keeps the two equal).
const NORM_STAT_IDS_H: u32 = 2;

/// The bundled default configuration (Gemmini's `defaultConfig`).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../rtl/configs/default.toml");

fn is_pow2(x: u32) -> bool {
    x != 0 && x & (x - 1) == 0
}

fn log2(x: u32) -> u32 {
    31 - x.leading_zeros()
}

impl HwConfig {
    /// The default configuration, parsed and validated.
    pub fn default_config() -> HwConfig {
        // The bundled file is part of the build and covered by tests; failing here is a build defect.
        HwConfig::from_toml_str(DEFAULT_CONFIG_TOML, "rtl/configs/default.toml")
            .expect("bundled default.toml is valid")
    }

    pub fn from_file(path: &Path) -> Result<HwConfig, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: p.clone(),
            error,
        })?;
        HwConfig::from_toml_str(&text, &p)
    }

    /// Parse and validate; `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<HwConfig, ConfigError> {
        let cfg: HwConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Check every rule the RTL and the software rely on.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |field: &'static str, value: String, rule: &str| ConfigError::Invalid {
            path: origin.to_string(),
            field,
            value,
            rule: rule.to_string(),
        };
        let a = &self.array;
        if !is_pow2(a.dim) || !(4..=64).contains(&a.dim) {
            return Err(bad(
                "array.dim",
                a.dim.to_string(),
                "must be a power of two from 4 to 64",
            ));
        }
        if a.input_type != "int8" && a.input_type != "fp32" {
            return Err(bad(
                "array.input_type",
                format!("{:?}", a.input_type),
                "must be \"int8\" or \"fp32\"",
            ));
        }
        let want_acc = if a.input_type == "fp32" {
            "fp32"
        } else {
            "int32"
        };
        if a.acc_type != want_acc {
            return Err(bad(
                "array.acc_type",
                format!("{:?}", a.acc_type),
                &format!(
                    "must be \"{want_acc}\" with input_type = {:?} (the two pairs built are \
                     int8/int32 and fp32/fp32)",
                    a.input_type
                ),
            ));
        }
        if a.has_normalizations && a.input_type != "int8" {
            return Err(bad(
                "array.has_normalizations",
                "true".to_string(),
                "needs input_type = \"int8\": Gemmini's normalizer is integer arithmetic (set it to false \
                 for fp32 configurations)",
            ));
        }
        // The largest partial sum, dim * 2^14 plus an int8 bias, must fit the signed in-array width, so
        // partial sums never wrap (dim 16 needs exactly Gemmini's 20 bits). fp32 sums are binary32.
        let need = 14 + log2(a.dim) + 2;
        if !self.is_fp32() && (a.spatial_output_bits < need.min(32) || a.spatial_output_bits > 32) {
            return Err(bad(
                "array.spatial_output_bits",
                a.spatial_output_bits.to_string(),
                &format!("must be between {} and 32 for dim {}", need.min(32), a.dim),
            ));
        }
        let row_bytes = a.dim * self.elem_bytes();
        let acc_row_bytes = a.dim * 4;
        for (name_cap, name_banks, m, rb) in [
            (
                "scratchpad.capacity_kib",
                "scratchpad.banks",
                &self.scratchpad,
                row_bytes,
            ),
            (
                "accumulator.capacity_kib",
                "accumulator.banks",
                &self.accumulator,
                acc_row_bytes,
            ),
        ] {
            if !is_pow2(m.banks) || m.banks > 16 {
                return Err(bad(
                    name_banks,
                    m.banks.to_string(),
                    "must be a power of two from 1 to 16",
                ));
            }
            if m.capacity_kib == 0 || m.capacity_kib > 64 * 1024 {
                return Err(bad(
                    name_cap,
                    m.capacity_kib.to_string(),
                    "must be between 1 and 65536 KiB",
                ));
            }
            let rows = (m.capacity_kib as u64 * 1024) / rb as u64;
            let bank_rows = rows / m.banks as u64;
            if rows * rb as u64 != m.capacity_kib as u64 * 1024
                || bank_rows * m.banks as u64 != rows
                || !is_pow2(bank_rows as u32)
                || bank_rows < a.dim as u64
            {
                return Err(bad(
                    name_cap,
                    m.capacity_kib.to_string(),
                    &format!(
                        "must give a power-of-two number of rows per bank, at least dim ({}); \
                         one row is {} bytes and there are {} banks",
                        a.dim, rb, m.banks
                    ),
                ));
            }
        }
        if self.sp_rows() > (1 << 20) || self.acc_rows() > (1 << 20) {
            return Err(bad(
                "scratchpad.capacity_kib",
                self.scratchpad.capacity_kib.to_string(),
                "more than 2^20 rows cannot be addressed in a 32-bit local address",
            ));
        }
        let d = &self.dma;
        if !is_pow2(d.beat_bytes) || !(8..=64).contains(&d.beat_bytes) {
            return Err(bad(
                "dma.beat_bytes",
                d.beat_bytes.to_string(),
                "must be a power of two from 8 to 64",
            ));
        }
        if !is_pow2(d.max_bytes) || d.max_bytes < d.beat_bytes || d.max_bytes > 128 {
            return Err(bad(
                "dma.max_bytes",
                d.max_bytes.to_string(),
                "must be a power of two, at least dma.beat_bytes, at most 128",
            ));
        }
        if d.max_bytes < a.dim * self.elem_bytes() {
            return Err(bad(
                "dma.max_bytes",
                d.max_bytes.to_string(),
                &format!(
                    "must hold at least one scratchpad row ({} bytes)",
                    a.dim * self.elem_bytes()
                ),
            ));
        }
        for (f, v) in [
            ("dma.max_reads_in_flight", d.max_reads_in_flight),
            ("dma.max_writes_in_flight", d.max_writes_in_flight),
        ] {
            if !is_pow2(v) || !(1..=64).contains(&v) {
                return Err(bad(f, v.to_string(), "must be a power of two from 1 to 64"));
            }
        }
        let r = &self.reservation_station;
        for (f, v) in [
            ("reservation_station.ld", r.ld),
            ("reservation_station.ex", r.ex),
            ("reservation_station.st", r.st),
        ] {
            if !is_pow2(v) || !(2..=32).contains(&v) {
                return Err(bad(f, v.to_string(), "must be a power of two from 2 to 32"));
            }
        }
        let m = &self.memory;
        if m.latency == 0 || m.latency > 100_000 {
            return Err(bad(
                "memory.latency",
                m.latency.to_string(),
                "must be between 1 and 100000 cycles",
            ));
        }
        if m.bytes_per_cycle == 0 || m.bytes_per_cycle > 1024 {
            return Err(bad(
                "memory.bytes_per_cycle",
                m.bytes_per_cycle.to_string(),
                "must be between 1 and 1024",
            ));
        }
        // Checked against what links: memory starts at 0x8000_0000 and programs are compiled with
        // -mcmodel=medany, whose pc-relative addresses reach 2 GiB, so the top of memory (the stack) must be
        // below 0x1_0000_0000; the runtime reserves 1 MiB of stack below the program.
        if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&m.size_mib) {
            return Err(bad(
                "memory.size_mib",
                m.size_mib.to_string(),
                "must be between 2 and 2047: memory starts at 0x8000_0000 and programs are linked with \
                 -mcmodel=medany, which reaches 2 GiB from the code, and the runtime reserves 1 MiB of stack \
                 (gemforge eval needs about 19 MiB more: the candidate's heap and stack)",
            ));
        }
        let c = &self.cpu;
        for (f, v) in [
            ("cpu.alu", c.alu),
            ("cpu.mul", c.mul),
            ("cpu.div", c.div),
            ("cpu.load", c.load),
            ("cpu.store", c.store),
            ("cpu.branch_taken", c.branch_taken),
            ("cpu.branch_not_taken", c.branch_not_taken),
            ("cpu.jump", c.jump),
            ("cpu.csr", c.csr),
            ("cpu.rocc", c.rocc),
            ("cpu.fma_s", c.fma_s),
            ("cpu.fma_d", c.fma_d),
            ("cpu.fpu_misc", c.fpu_misc),
            ("cpu.fdiv_s", c.fdiv_s),
            ("cpu.fdiv_d", c.fdiv_d),
            ("cpu.fsqrt_s", c.fsqrt_s),
            ("cpu.fsqrt_d", c.fsqrt_d),
            ("cpu.amo", c.amo),
        ] {
            if v == 0 || v > 1000 {
                return Err(bad(f, v.to_string(), "must be between 1 and 1000 cycles"));
            }
        }
        if m.max_in_flight == 0 || m.max_in_flight > 1024 {
            return Err(bad(
                "memory.max_in_flight",
                m.max_in_flight.to_string(),
                "must be between 1 and 1024",
            ));
        }
        Ok(())
    }

    pub fn dim(&self) -> u32 {
        self.array.dim
    }
    /// Whether the datapath is binary32 (fp32 inputs, weights and accumulator) rather than int8/int32.
    pub fn is_fp32(&self) -> bool {
        self.array.input_type == "fp32"
    }
    /// Bytes of one input element (`sizeof(elem_t)`): 1 for int8, 4 for fp32.
    pub fn elem_bytes(&self) -> u32 {
        if self.is_fp32() {
            4
        } else {
            1
        }
    }
    /// Scratchpad rows (each `dim` input elements).
    pub fn sp_rows(&self) -> u32 {
        self.scratchpad.capacity_kib * 1024 / (self.array.dim * self.elem_bytes())
    }
    pub fn sp_bank_rows(&self) -> u32 {
        self.sp_rows() / self.scratchpad.banks
    }
    /// Accumulator rows (each `dim` 4-byte elements, int32 or fp32).
    pub fn acc_rows(&self) -> u32 {
        self.accumulator.capacity_kib * 1024 / (self.array.dim * 4)
    }
    pub fn acc_bank_rows(&self) -> u32 {
        self.acc_rows() / self.accumulator.banks
    }
    /// Width of the row field of a local address (spec 2.1: max of both memories' address bits).
    pub fn local_addr_row_bits(&self) -> u32 {
        log2(self.sp_rows()).max(log2(self.acc_rows()))
    }
    /// Blocks of `dim` input-type columns one mvin/mvout row may carry (`MAX_BLOCK_LEN`).
    pub fn max_block_len(&self) -> u32 {
        (self.dma.max_bytes / (self.array.dim * self.elem_bytes())).max(1)
    }
    /// Blocks of `dim` accumulator-type columns one accumulator mvin row may carry (`MAX_BLOCK_LEN_ACC`).
    pub fn max_block_len_acc(&self) -> u32 {
        (self.dma.max_bytes / (self.array.dim * 4)).max(1)
    }
    pub fn has_os(&self) -> bool {
        self.array.dataflows == Dataflows::Both
    }

    /// The SystemVerilog package `gemmini_cfg_pkg` that parameterizes the RTL (see rtl/gemmini_pkg.sv,
    /// which derives everything else from these values).
    pub fn sv_config_package(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "// Generated from hardware configuration `{}`; do not edit.",
            self.name
        );
        let _ = writeln!(s, "package gemmini_cfg_pkg;");
        let items: [(&str, u32); 18] = [
            ("CFG_DIM", self.array.dim),
            ("CFG_HAS_NORM", self.array.has_normalizations as u32),
            ("CFG_FP32", self.is_fp32() as u32),
            ("CFG_HAS_OS", self.has_os() as u32),
            ("CFG_PSUM_BITS", self.array.spatial_output_bits),
            ("CFG_SP_BANKS", self.scratchpad.banks),
            ("CFG_SP_BANK_ROWS", self.sp_bank_rows()),
            ("CFG_ACC_BANKS", self.accumulator.banks),
            ("CFG_ACC_BANK_ROWS", self.acc_bank_rows()),
            ("CFG_ADDR_ROW_BITS", self.local_addr_row_bits()),
            ("CFG_BEAT_BYTES", self.dma.beat_bytes),
            ("CFG_MAX_BYTES", self.dma.max_bytes),
            ("CFG_MAX_READS", self.dma.max_reads_in_flight),
            ("CFG_MAX_WRITES", self.dma.max_writes_in_flight),
            ("CFG_RS_LD", self.reservation_station.ld),
            ("CFG_RS_EX", self.reservation_station.ex),
            ("CFG_RS_ST", self.reservation_station.st),
            ("CFG_MAX_BLOCK_LEN", self.max_block_len()),
        ];
        for (k, v) in items {
            let _ = writeln!(s, "  localparam int unsigned {k} = {v};");
        }
        let _ = writeln!(s, "endpackage");
        s
    }

    /// A stable text identifying everything that determines the generated RTL (for cache keys).
    /// The package without its comment lines, so a configuration's name does not change it.
    pub fn rtl_fingerprint(&self) -> String {
        self.sv_config_package()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

impl HwConfig {
    /// The accelerator's parameters in the words the ISA description of the prompts uses, so that a prompt
    /// for a variant states its DIM, memories and dataflows (the rest of the ISA text does not change).
    pub fn prompt_description(&self) -> String {
        let df = if self.has_os() {
            "both weight-stationary (WS) and output-stationary (OS) dataflows, selected by config_ex"
        } else {
            "the weight-stationary (WS) dataflow only (config_ex must select WS)"
        };
        format!(
            "The accelerator (configuration `{}`) has a {dim}x{dim} systolic array of {} inputs with {} \
             accumulation, supporting {df}. DIM = {dim}: one scratchpad row holds {dim} {} elements and one \
             accumulator row holds {dim} {} elements. The scratchpad has {} rows in {} banks of {} rows \
             ({} KiB); the accumulator has {} rows in {} banks of {} rows ({} KiB). One mvin moves at most \
             {} blocks of DIM columns (MAX_BLOCK_LEN) into the scratchpad and {} into the accumulator \
             (MAX_BLOCK_LEN_ACC).",
            self.name,
            self.array.input_type,
            self.array.acc_type,
            self.array.input_type,
            self.array.acc_type,
            self.sp_rows(),
            self.scratchpad.banks,
            self.sp_bank_rows(),
            self.scratchpad.capacity_kib,
            self.acc_rows(),
            self.accumulator.banks,
            self.acc_bank_rows(),
            self.accumulator.capacity_kib,
            self.max_block_len(),
            self.max_block_len_acc(),
            dim = self.dim(),
        )
    }

    /// The `gemmini_params.h` for this configuration: every constant of Gemmini's generated parameter header
    /// that applies to this accelerator (spec 2.2, 2.3, 7.7), the C reference models of the accelerator's
    /// rounding (docs/accelerator.md sections 2 and 3), and a few `GEMMINI_`-prefixed extras. Included by
    /// `sim/target/include/gemmini.h`; written next to it by the toolchain for every compile.
    pub fn gemmini_params_h(&self) -> String {
        let mut s = String::new();
        let mut line = |t: &str| {
            s.push_str(t);
            s.push('\n');
        };
        line(&format!(
            "// gemmini_params.h, generated by gemforge from hardware configuration `{}`; do not edit.",
            self.name
        ));
        line("#ifndef GEMMINI_PARAMS_H");
        line("#define GEMMINI_PARAMS_H");
        line("");
        line("#include <stdint.h>");
        line("#include <limits.h>");
        line("");
        line("#define XCUSTOM_ACC 3");
        line(&format!("#define DIM {}", self.dim()));
        line("#define ADDR_LEN 32");
        line(&format!("#define BANK_NUM {}", self.scratchpad.banks));
        line(&format!("#define BANK_ROWS {}", self.sp_bank_rows()));
        line(&format!("#define ACC_ROWS {}", self.acc_rows()));
        line(&format!("#define MAX_BYTES {}", self.dma.max_bytes));
        line(&format!("#define MAX_BLOCK_LEN {}", self.max_block_len()));
        line(&format!(
            "#define MAX_BLOCK_LEN_ACC {}",
            self.max_block_len_acc()
        ));
        line("");
        if self.is_fp32() {
            fp32_types_h(&mut line);
        } else {
            int8_types_h(&mut line);
        }
        line("");
        line("// gemforge extras");
        line(&format!("#define GEMMINI_SP_ROWS {}", self.sp_rows()));
        line(&format!(
            "#define GEMMINI_ACC_BANKS {}",
            self.accumulator.banks
        ));
        line(&format!(
            "#define GEMMINI_ACC_BANK_ROWS {}",
            self.acc_bank_rows()
        ));
        line(&format!(
            "#define GEMMINI_ADDR_ROW_BITS {}",
            self.local_addr_row_bits()
        ));
        line(&format!(
            "#define GEMMINI_SPATIAL_OUTPUT_BITS {}",
            self.array.spatial_output_bits
        ));
        if self.has_os() {
            line("#define GEMMINI_HAS_OUTPUT_STATIONARY");
        }
        if self.array.has_normalizations {
            // Gemmini's generator writes these two for a configuration with the normalizer.
            line("#define HAS_NORMALIZATIONS");
            line(&format!("#define NORM_STAT_IDS {NORM_STAT_IDS_H}"));
        }
        line("#define GEMMINI_SP_ADDR(row) ((uint32_t)(row))");
        line("#define GEMMINI_ACC_ADDR(row) ((uint32_t)0x80000000u | (uint32_t)(row))");
        line("#define GEMMINI_ACC_ACCUMULATE_ADDR(row) ((uint32_t)0xC0000000u | (uint32_t)(row))");
        line("#define GEMMINI_ACC_FULL_ADDR(row) ((uint32_t)0xA0000000u | (uint32_t)(row))");
        line("");
        line("#endif // GEMMINI_PARAMS_H");
        s
    }
}

/// The float32 scale types both datapaths share, then bit casts (`T_to_T_bits`, `T_bits_to_T`) for each of
/// `casts` (each a float type with a `uint32_t` `T_bits` twin).
fn scale_types_h(line: &mut impl FnMut(&str), casts: &[&str]) {
    line("#define HAS_MVIN_SCALE");
    line("typedef float scale_t;");
    line("typedef uint32_t scale_t_bits;");
    line("typedef float acc_scale_t;");
    line("typedef uint32_t acc_scale_t_bits;");
    line("#define ACC_SCALE_T_IS_FLOAT");
    line("#define ACC_SCALE_EXP_BITS 8");
    line("#define ACC_SCALE_SIG_BITS 24");
    line("#define MVIN_SCALE_IDENTITY 1.0");
    line("#define ACC_SCALE_IDENTITY 1.0");
    line("");
    for t in casts {
        line(&format!("static inline {t}_bits {t}_to_{t}_bits({t} x) {{"));
        line(&format!(
            "    union {{ {t} f; {t}_bits b; }} v; v.f = x; return v.b;"
        ));
        line("}");
        line(&format!("static inline {t} {t}_bits_to_{t}({t}_bits x) {{"));
        line(&format!(
            "    union {{ {t} f; {t}_bits b; }} v; v.b = x; return v.f;"
        ));
        line("}");
    }
    line("");
}

/// The element types, scalers and rounding helpers of `gemmini_params.h` for the int8/int32 datapath.
fn int8_types_h(line: &mut impl FnMut(&str)) {
    line("typedef int8_t elem_t;");
    line("static const elem_t elem_t_max = 127;");
    line("static const elem_t elem_t_min = -128;");
    line("typedef int32_t acc_t;");
    line("typedef int64_t full_t;");
    line("static const acc_t acc_t_max = 2147483647;");
    line("static const acc_t acc_t_min = -2147483647 - 1;");
    line("");
    line("#define ELEM_T_MAX 127");
    line("#define ELEM_T_MIN (-128)");
    line("#define ACC_T_MAX 2147483647");
    line("#define ACC_T_MIN (-2147483647 - 1)");
    line("");
    line("// mvin scaling of int8 data and accumulator read-out scaling: float32 multiply, round to nearest even,");
    line("// saturate (to int8)");
    scale_types_h(line, &["scale_t", "acc_scale_t"]);
    line("// the accumulator can be read as int8 (scaled) and as raw int32 rows (local address bit 29)");
    line("#define ACC_READ_SMALL_WIDTH");
    line("#define ACC_READ_FULL_WIDTH");
    line("// not built: first-layer pixel repeats (HAS_FIRST_LAYER_OPTIMIZATIONS), normalizations");
    line("");
    line("// Round half to even; NaN and infinities are returned unchanged.");
    line("static inline double gemmini_round_near_even(double x) {");
    line("    double ax = x < 0 ? -x : x;");
    line("    if (!(ax < 4503599627370496.0)) return x; // NaN, infinities and |x| >= 2^52 (integral)");
    line("    int64_t i = (int64_t)x; // truncation toward zero");
    line("    double rem = x - (double)i; // exact");
    line("    if (rem < 0) rem = -rem;");
    line("    if (rem > 0.5 || (rem == 0.5 && (i & 1))) i += x < 0 ? -1 : 1;");
    line("    return (double)i;");
    line("}");
    line("#define ROUND_NEAR_EVEN(x) gemmini_round_near_even((double)(x))");
    line("");
    line("// float32 product, rounded half to even to an integer, saturated to [lo, hi]; NaN gives 0.");
    line("static inline int64_t gemmini_scale_sat(float x, float scale, int64_t lo, int64_t hi) {");
    line("    float y = x * scale;");
    line("    if (y != y) return 0;");
    line("    double r = gemmini_round_near_even(y);");
    line("    return r > (double)hi ? hi : (r < (double)lo ? lo : (int64_t)r);");
    line("}");
    line("// mvin scaler: int8 data times scale, saturated to int8");
    line("#define MVIN_SCALE(x, scale) ((elem_t)gemmini_scale_sat((float)(x), (float)(scale), ELEM_T_MIN, ELEM_T_MAX))");
    line("// int32 data moved into the accumulator is not scaled");
    line("#define MVIN_SCALE_ACC(x, scale) (x)");
    line("// accumulator read-out: x (after the optional ReLU) times scale, clipped to int8");
    line("#define ACC_SCALE(x, scale) ((acc_t)gemmini_scale_sat((float)(x), (float)(scale), ELEM_T_MIN, ELEM_T_MAX))");
    line("");
    line("// Rounding arithmetic right shift, round half to even on the shifted-out bits (OS results):");
    line("// (x >> s) + (bit s-1 of x) & ((bits below s-1 nonzero) | bit s of x); s <= 0 shifts left by -s.");
    line("static inline int64_t gemmini_rounding_right_shift(int64_t x, int shift) {");
    line("    if (shift <= 0) return (int64_t)((uint64_t)x << (-shift & 63));");
    line("    if (shift > 63) shift = 63;");
    line("    int64_t q = x >> shift;");
    line("    int64_t half = (x >> (shift - 1)) & 1;");
    line("    int64_t below = (x & (((int64_t)1 << (shift - 1)) - 1)) != 0;");
    line("    return q + (half & (below | (q & 1)));");
    line("}");
    line("#define ROUNDING_RIGHT_SHIFT(x, shift) \\");
    line("    ({ __typeof__(x) gemmini_x_ = (x); (__typeof__(gemmini_x_))gemmini_rounding_right_shift((int64_t)gemmini_x_, (int)(shift)); })");
    line("#define ROUNDING_RIGHT_SHIFT_BITS(x, shift) ROUNDING_RIGHT_SHIFT(x, shift)");
}

/// The same for the fp32 datapath (docs/accelerator.md section 2.1): binary32 elements and accumulator,
/// float scalers, OS results divided by 2^shift.
fn fp32_types_h(line: &mut impl FnMut(&str)) {
    line("typedef float elem_t;");
    line("static const elem_t elem_t_max = 3.40282346638528859812e+38f;");
    line("static const elem_t elem_t_min = -3.40282346638528859812e+38f;");
    line("typedef float acc_t;");
    line("typedef double full_t;");
    line("static const acc_t acc_t_max = 3.40282346638528859812e+38f;");
    line("static const acc_t acc_t_min = -3.40282346638528859812e+38f;");
    line("typedef uint32_t elem_t_bits;");
    line("typedef uint32_t acc_t_bits;");
    line("");
    line("#define ELEM_T_IS_FLOAT");
    line("#define ELEM_T_EXP_BITS 8");
    line("#define ELEM_T_SIG_BITS 24");
    line("#define ACC_T_EXP_BITS 8");
    line("#define ACC_T_SIG_BITS 24");
    line("#define ELEM_T_MAX elem_t_max");
    line("#define ELEM_T_MIN elem_t_min");
    line("#define ACC_T_MAX acc_t_max");
    line("#define ACC_T_MIN acc_t_min");
    line("");
    line("// Every arithmetic step is IEEE binary32, round to nearest even, subnormals kept; the array");
    line("// multiplies and adds with one rounding per PE (fused multiply-add); any NaN result is 0x7fc00000.");
    scale_types_h(line, &["scale_t", "acc_scale_t", "elem_t"]);
    line(
        "// the accumulator can be read through the scaler and as raw rows (local address bit 29)",
    );
    line("#define ACC_READ_SMALL_WIDTH");
    line("#define ACC_READ_FULL_WIDTH");
    line("");
    line("// mvin scaler: a binary32 multiply (a scale of exactly 1.0 passes data through unchanged)");
    line("#define MVIN_SCALE(x, scale) ((elem_t)((x) * (scale)))");
    line("#define HAS_MVIN_ACC_SCALE");
    line("typedef float scale_acc_t;");
    line("#define MVIN_SCALE_ACC(x, scale) ((acc_t)((x) * (scale)))");
    line("// accumulator read-out: x (after the optional ReLU) times scale, a binary32 multiply");
    line("#define ACC_SCALE(x, scale) ((acc_t)((x) * (scale)))");
    line("// OS results are divided by 2^shift (exact unless the quotient is subnormal, then rounded to even)");
    line("#define ROUNDING_RIGHT_SHIFT(x, shift) ((x) / (float)(1u << ((shift) & 31)))");
    line("#define ROUNDING_RIGHT_SHIFT_BITS(x, shift) ROUNDING_RIGHT_SHIFT(x, shift)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matches_gemmini() {
        let c = HwConfig::default_config();
        assert_eq!(c.dim(), 16);
        assert_eq!(c.sp_rows(), 16384);
        assert_eq!(c.sp_bank_rows(), 4096);
        assert_eq!(c.acc_rows(), 1024);
        assert_eq!(c.acc_bank_rows(), 512);
        assert_eq!(c.local_addr_row_bits(), 14);
        assert_eq!(c.max_block_len(), 4);
        assert_eq!(c.max_block_len_acc(), 1);
        assert!(c.has_os());
    }

    #[test]
    fn norm_stat_ids_match_the_isa() {
        assert_eq!(NORM_STAT_IDS_H, crate::sim::isa::NORM_STAT_IDS);
        let h = HwConfig::default_config().gemmini_params_h();
        assert!(h.contains("#define HAS_NORMALIZATIONS\n#define NORM_STAT_IDS 2\n"));
    }

    #[test]
    fn gemmini_params_h_default() {
        let h = HwConfig::default_config().gemmini_params_h();
        for want in [
            "#define XCUSTOM_ACC 3\n",
            "#define DIM 16\n",
            "#define ADDR_LEN 32\n",
            "#define BANK_NUM 4\n",
            "#define BANK_ROWS 4096\n",
            "#define ACC_ROWS 1024\n",
            "#define MAX_BYTES 64\n",
            "#define MAX_BLOCK_LEN 4\n",
            "#define MAX_BLOCK_LEN_ACC 1\n",
            "typedef int8_t elem_t;",
            "typedef int32_t acc_t;",
            "typedef int64_t full_t;",
            "typedef float scale_t;",
            "typedef float acc_scale_t;",
            "#define HAS_MVIN_SCALE\n",
            "#define ACC_SCALE_T_IS_FLOAT\n",
            "#define MVIN_SCALE_IDENTITY 1.0\n",
            "#define ACC_SCALE_IDENTITY 1.0\n",
            "#define ELEM_T_MAX 127\n",
            "#define ELEM_T_MIN (-128)\n",
            "#define ACC_T_MAX 2147483647\n",
            "#define ACC_T_MIN (-2147483647 - 1)\n",
            "#define ACC_READ_FULL_WIDTH\n",
            "#define ACC_READ_SMALL_WIDTH\n",
            "#define ROUNDING_RIGHT_SHIFT(x, shift)",
            "#define MVIN_SCALE(x, scale)",
            "#define ACC_SCALE(x, scale)",
            "#define GEMMINI_SP_ROWS 16384\n",
            "#define GEMMINI_ACC_BANK_ROWS 512\n",
            "#define GEMMINI_ADDR_ROW_BITS 14\n",
            "#define GEMMINI_HAS_OUTPUT_STATIONARY\n",
        ] {
            assert!(h.contains(want), "missing {want:?} in\n{h}");
        }
        assert!(!h.contains("HAS_FIRST_LAYER_OPTIMIZATIONS\n"), "{h}");
        assert!(
            h.starts_with("// gemmini_params.h")
                && h.trim_end().ends_with("#endif // GEMMINI_PARAMS_H")
        );
        // A different configuration changes the derived numbers.
        let text = DEFAULT_CONFIG_TOML
            .replace("dim = 16", "dim = 8")
            .replace("dataflows = \"both\"", "dataflows = \"ws\"");
        let c = HwConfig::from_toml_str(&text, "t.toml").unwrap();
        let h8 = c.gemmini_params_h();
        assert!(
            h8.contains("#define DIM 8\n") && h8.contains("#define MAX_BLOCK_LEN 8\n"),
            "{h8}"
        );
        assert!(h8.contains("#define MAX_BLOCK_LEN_ACC 2\n"), "{h8}");
        assert!(!h8.contains("GEMMINI_HAS_OUTPUT_STATIONARY"), "{h8}");
        let p = c.prompt_description();
        assert!(
            p.contains("8x8") && p.contains("weight-stationary (WS) dataflow only"),
            "{p}"
        );
        let p = HwConfig::default_config().prompt_description();
        assert!(
            p.contains("16x16") && p.contains("16384 rows in 4 banks"),
            "{p}"
        );
    }

    fn with(edit: &str, from: &str) -> Result<HwConfig, ConfigError> {
        let text = DEFAULT_CONFIG_TOML.replace(from, edit);
        assert_ne!(text, DEFAULT_CONFIG_TOML, "edit `{from}` did not apply");
        HwConfig::from_toml_str(&text, "t.toml")
    }

    #[test]
    fn bad_fields_are_named() {
        let e = with("dim = 12", "dim = 16").unwrap_err().to_string();
        assert!(e.contains("array.dim") && e.contains("power of two"), "{e}");
        let e = with("banks = 3", "banks = 4").unwrap_err().to_string();
        assert!(e.contains("scratchpad.banks"), "{e}");
        let e = with("capacity_kib = 100", "capacity_kib = 256")
            .unwrap_err()
            .to_string();
        assert!(e.contains("scratchpad.capacity_kib"), "{e}");
        let e = with("ld = 0", "ld = 8").unwrap_err().to_string();
        assert!(e.contains("reservation_station.ld"), "{e}");
        // fp32 inputs need an fp32 accumulator (and int8 an int32 one).
        let e = with("input_type = \"fp32\"", "input_type = \"int8\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("array.acc_type") && e.contains("fp32"), "{e}");
        let e = with("input_type = \"bf16\"", "input_type = \"int8\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("array.input_type") && e.contains("bf16"), "{e}");
        let e = with(
            "input_type = \"fp32\"\nacc_type = \"fp32\"",
            "input_type = \"int8\"\nacc_type = \"int32\"",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("array.has_normalizations"), "{e}");
        let e = with("dimm = 16", "dim = 16").unwrap_err().to_string();
        assert!(e.contains("t.toml") && e.contains("dimm"), "{e}");
    }

    #[test]
    fn fpu_and_amo_timing_default_and_are_checked() {
        // The bundled files name none of the classes the A, F and D extensions brought: defaults apply.
        let c = HwConfig::default_config().cpu;
        assert_eq!((c.fma_s, c.fma_d, c.fpu_misc, c.amo), (4, 5, 2, 3));
        assert_eq!((c.fdiv_s, c.fdiv_d, c.fsqrt_s, c.fsqrt_d), (27, 56, 26, 55));
        let c = with("rocc = 1\nfma_s = 6\nfdiv_d = 60", "rocc = 1")
            .unwrap()
            .cpu;
        assert_eq!((c.fma_s, c.fdiv_d, c.fma_d), (6, 60, 5));
        let e = with("rocc = 1\nfsqrt_s = 0", "rocc = 1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cpu.fsqrt_s") && e.contains("between 1 and 1000"),
            "{e}"
        );
    }
}
