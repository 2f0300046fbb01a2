//! One candidate in, one verdict out: the correctness protocol.
//!
//! A candidate is a C file defining the workload's `solution(...)` (no `#include` lines needed: `gemmini.h`,
//! `stdint.h` and `stdbool.h` are force-included). It is adversarial (docs/integrity.md). It is compiled
//! alone to an object, which is refused (`forbidden_symbol`) if it has constructor or destructor sections,
//! thread-local data, or references an exit, `atexit` or the semihosting entry; then its sections are
//! renamed into the user regions of the linker script and every symbol but `solution` is made local (so it
//! cannot interpose on a library or harness function), and it is linked with the workload's generated
//! harness (`workload::Workload::harness_c`).
//!
//! Each run gets a fresh main memory: the ELF is loaded, then the host lays out (high to low, below the
//! harness's stack) the arrays with random guard bands, the candidate's stack between two no-access gaps,
//! and its scratch heap ([`USER_HEAP_BYTES`]); writes fresh full-range random inputs, poisons the output with
//! 0x5A, and fills the harness's machine-only tables: the array addresses, the stack pointer, and the PMP
//! entries giving U-mode R/X on the program's code and read-only data, R/W on the candidate's static data,
//! heap and stack, R on the inputs and R/W on the output, and nothing else. The harness enters `solution`
//! in U-mode; the host measures the call from its first instruction until it returned and the
//! accelerator drained (`soc::run_call`), and ends the run there. Any trap in U-mode ends the run (an
//! access fault names the region of its address); exhausting the heap is `out_of_memory`. The reference
//! is computed on the host and never enters simulated memory. After the run the host compares the output
//! (`Workload::check_output`: exactly for int8 outputs, within a relative tolerance for fp32 ones), checks
//! the guard bands and that the inputs are unchanged, and, for the cycles, that they are not below the
//! ideal (MACs / DIM^2) or the memory floor ([`memory_floor_cycles`]): that is `impossible_timing`.
//!
//! The functional screen runs on the spec engine with `screen_runs` independent input sets; only if all
//! pass, one RTL run gives the cycles of the call (and is checked too).

use crate::bench::workload::{
    self, Workload, CTX_COUNTEREN, CTX_PMPADDR, CTX_PMPCFG0, CTX_PMPCFG2, CTX_SP, CTX_WORDS,
    OOM_ECALL, SYM_ARGS, SYM_CTX, SYM_HEAP, SYM_USER_RETURN,
};
use crate::sim::config::HwConfig;
use crate::sim::cpu::{TrapCause, TrapReport, PMP_ENTRIES, PMP_OFF, PMP_R, PMP_TOR, PMP_W, PMP_X};
use crate::sim::mem::{Memory, DEFAULT_BASE};
use crate::sim::soc::{self, CallWindow, Engine, Program, SocOpts};
use crate::sim::toolchain::{command_line, Elf, Toolchain, ToolchainError, LIBC_FLAGS, OPT_FLAGS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The value every output byte holds before the candidate runs (defined with the output check).
pub use crate::bench::workload::POISON;
/// Random guard bytes between and after the arrays.
const GUARD: u64 = 256;
const TAIL_GUARD: u64 = 4096;
/// The candidate's scratch heap (`malloc`, `calloc`, `realloc`, `aligned_alloc`, `sbrk`): 16 MiB below its
/// stack. Exhausting it ends the run with `out_of_memory`.
pub const USER_HEAP_BYTES: u64 = 16 << 20;
/// The candidate's stack: 2 MiB, between two no-access gaps of [`STACK_GAP`] bytes.
pub const USER_STACK_BYTES: u64 = 2 << 20;
const STACK_GAP: u64 = 4096;
/// Room left between the program's end and the candidate's heap.
const PROGRAM_MARGIN: u64 = 64 << 10;
/// Symbols a candidate may not reference: ways out of `solution()` other than returning, work registered
/// to run after it, and the semihosting entries.
pub const FORBIDDEN_SYMBOLS: &[&str] = &[
    "exit",
    "_exit",
    "_Exit",
    "quick_exit",
    "atexit",
    "at_quick_exit",
    "on_exit",
    "__cxa_atexit",
    "__libc_init_array",
    "__libc_fini_array",
    "__gf_semihost",
    "sys_semihost",
];
/// Sections a candidate may not have (code that would run before or after `solution()`, or thread-local
/// data, which lives with the harness).
pub const FORBIDDEN_SECTIONS: &[&str] = &[
    ".init_array",
    ".preinit_array",
    ".fini_array",
    ".ctors",
    ".dtors",
    ".init",
    ".fini",
    ".tdata",
    ".tbss",
];
/// The section kinds a candidate may have (each with `.name` or `.name.*`).
const ALLOWED_SECTIONS: &[&str] = &[
    ".text",
    ".rodata",
    ".srodata",
    ".data",
    ".sdata",
    ".bss",
    ".sbss",
    ".eh_frame",
];
/// Compiler messages longer than this are cut in the verdict's detail.
const MAX_DETAIL: usize = 8000;

/// Why a candidate is not correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    CompileError,
    WrongResult,
    Trap,
    Timeout,
    AcceleratorError,
    /// The candidate issued a RoCC command the evaluation forbids ([`EvalOpts::forbidden_functs`]).
    ForbiddenInstruction,
    /// The candidate's object has a constructor/destructor section or references an exit, `atexit` or the
    /// semihosting entry (refused before linking; the detail names the symbol or section).
    ForbiddenSymbol,
    /// The measured cycles are below the workload's ideal or memory floor: the timing cannot be real.
    ImpossibleTiming,
    /// The candidate's scratch heap ([`USER_HEAP_BYTES`]) is exhausted.
    OutOfMemory,
    /// The evaluation itself failed (no compiler, workload does not fit memory, ...), not the candidate.
    HostError,
    /// The cluster job that ran the evaluation failed, was cancelled, timed out or lost its node on every
    /// try (`--executor slurm`, docs/cluster.md): says nothing about the candidate, and is never cached.
    JobFailed,
}

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::CompileError => "compile_error",
            Failure::WrongResult => "wrong_result",
            Failure::Trap => "trap",
            Failure::Timeout => "timeout",
            Failure::AcceleratorError => "accelerator_error",
            Failure::ForbiddenInstruction => "forbidden_instruction",
            Failure::ForbiddenSymbol => "forbidden_symbol",
            Failure::ImpossibleTiming => "impossible_timing",
            Failure::OutOfMemory => "out_of_memory",
            Failure::HostError => "host_error",
            Failure::JobFailed => "job_failed",
        }
    }
}

/// The verdict on one candidate (`gemforge eval --json` prints exactly these fields).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub workload: String,
    pub correct: bool,
    /// Cycles of the `solution(...)` call on the RTL, measured by the host from its first instruction until
    /// it returned and the accelerator drained (None unless the RTL run completed).
    pub cycles: Option<u64>,
    pub ideal_cycles: u64,
    /// The memory floor: the bytes of the inputs and the output, once each, over the memory port's bytes
    /// per cycle plus the hart's 8 ([`memory_floor_cycles`]).
    #[serde(default)]
    pub memory_floor_cycles: u64,
    /// ideal_cycles / cycles.
    pub utilization: Option<f64>,
    pub failure: Option<Failure>,
    pub detail: String,
    /// Distinct scratchpad rows written by mvin.
    pub sp_rows_used: Option<u32>,
    /// Distinct accumulator rows written by mvin.
    pub acc_rows_used: Option<u32>,
    /// Distinct accumulator rows computes wrote results to.
    #[serde(default)]
    pub acc_rows_computed: Option<u32>,
    /// Accelerator event totals of the RTL run.
    pub counters: BTreeMap<String, u64>,
}

impl Verdict {
    /// The verdict of an evaluation that ended in `failure` before any run gave cycles.
    pub fn failed(cfg: &HwConfig, w: &Workload, failure: Failure, detail: String) -> Verdict {
        Verdict::fail(cfg, w, failure, truncate(detail))
    }

    fn fail(cfg: &HwConfig, w: &Workload, failure: Failure, detail: String) -> Verdict {
        Verdict {
            workload: w.name.clone(),
            correct: false,
            cycles: None,
            ideal_cycles: w.ideal_cycles(cfg.dim()),
            memory_floor_cycles: memory_floor_cycles(cfg, w),
            utilization: None,
            failure: Some(failure),
            detail,
            sp_rows_used: None,
            acc_rows_used: None,
            acc_rows_computed: None,
            counters: BTreeMap::new(),
        }
    }

    /// `gemforge eval`'s exit status: 0 correct, 1 incorrect, 2 when the evaluation itself failed.
    pub fn exit_code(&self) -> u8 {
        match self.failure {
            None if self.correct => 0,
            Some(Failure::HostError | Failure::JobFailed) => 2,
            _ => 1,
        }
    }

    /// Human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!("workload       {}\n", self.workload);
        match self.failure {
            None if self.correct => s.push_str("verdict        correct\n"),
            None => s.push_str("verdict        incorrect\n"),
            Some(f) => s.push_str(&format!("verdict        {}\n", f.name())),
        }
        if let Some(c) = self.cycles {
            s.push_str(&format!("cycles         {c}\n"));
        }
        s.push_str(&format!("ideal cycles   {}\n", self.ideal_cycles));
        s.push_str(&format!("memory floor   {}\n", self.memory_floor_cycles));
        if let Some(u) = self.utilization {
            s.push_str(&format!("utilization    {:.1}%\n", u * 100.0));
        }
        if let (Some(sp), Some(acc)) = (self.sp_rows_used, self.acc_rows_used) {
            s.push_str(&format!("scratchpad     {sp} rows written by mvin\n"));
            s.push_str(&format!(
                "accumulator    {acc} rows written by mvin, {} rows written by computes\n",
                self.acc_rows_computed.unwrap_or(0)
            ));
        }
        let nonzero: Vec<_> = self.counters.iter().filter(|(_, v)| **v != 0).collect();
        if !nonzero.is_empty() {
            s.push_str("accelerator counters:\n");
            for (k, v) in nonzero {
                s.push_str(&format!("  {k:<36} {v}\n"));
            }
        }
        s.push_str(&format!("detail         {}\n", self.detail));
        s
    }
}

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOpts {
    /// Independent input sets on the spec engine before the RTL run.
    pub screen_runs: u32,
    /// Run on the RTL for cycles after the screen passes.
    pub rtl: bool,
    /// Base seed of the input sets; None: a fresh one from the clock.
    pub seed: Option<u64>,
    /// Cycle limit of each run; None: 50 x ideal cycles + 10 M.
    pub max_cycles: Option<u64>,
    /// Compile cache directory; None: the toolchain's default.
    pub cache_dir: Option<PathBuf>,
    /// RoCC functs the candidate must not issue (checked on every command the hart issues, on both
    /// engines); empty: everything is allowed.
    pub forbidden_functs: Vec<u8>,
}

impl Default for EvalOpts {
    fn default() -> Self {
        EvalOpts {
            screen_runs: 3,
            rtl: true,
            seed: None,
            max_cycles: None,
            cache_dir: None,
            forbidden_functs: Vec::new(),
        }
    }
}

/// The memory floor of `w` on `cfg`: its inputs read once and its output written once, divided by what can
/// move per cycle: the memory port's `bytes_per_cycle` plus the hart's one 8-byte access (the hart's loads
/// and stores do not use the accelerator's port). No correct run can take fewer cycles.
pub fn memory_floor_cycles(cfg: &HwConfig, w: &Workload) -> u64 {
    let bytes: u64 = w.arrays().iter().map(|a| a.bytes()).sum();
    bytes.div_ceil(u64::from(cfg.memory.bytes_per_cycle) + 8)
}

/// Ok if `cycles` is at or above both floors; otherwise the message names the floor it is below.
pub fn check_floors(cycles: u64, ideal: u64, memory_floor: u64) -> Result<(), String> {
    if cycles < ideal {
        return Err(format!(
            "{cycles} cycles is below the ideal of {ideal} cycles (MACs / DIM^2, a fully used array every \
             cycle): this timing is impossible"
        ));
    }
    if cycles < memory_floor {
        return Err(format!(
            "{cycles} cycles is below the memory floor of {memory_floor} cycles (inputs read once and the \
             output written once at the memory port's rate): this timing is impossible"
        ));
    }
    Ok(())
}

/// The default cycle limit of one run of `w`.
pub fn default_max_cycles(w: &Workload, dim: u32) -> u64 {
    w.ideal_cycles(dim)
        .saturating_mul(50)
        .saturating_add(10_000_000)
}

fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ u64::from(std::process::id()).rotate_left(32)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_DETAIL {
        let mut cut = MAX_DETAIL;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n[... cut]");
    }
    s
}

/// Where everything lives in simulated memory, and what the candidate may do there.
struct Layout {
    addrs: Vec<u64>,
    /// Guard bands: (address, length).
    guards: Vec<(u64, u64)>,
    args: u64,
    ctx: u64,
    /// The scratch heap's state words (None when the linker dropped the allocator: nothing calls it).
    heap_state: Option<u64>,
    heap: (u64, u64),
    user_sp: u64,
    window: CallWindow,
    /// pmpcfg0, pmpcfg2, pmpaddr0-15.
    pmpcfg: [u64; 2],
    pmpaddr: [u64; PMP_ENTRIES],
    /// Every region with a name, for naming a faulting address: [lo, hi).
    regions: Vec<(u64, u64, String)>,
}

impl Layout {
    /// "the harness's data (machine-only)" for an address.
    fn region_of(&self, addr: u64) -> String {
        self.regions
            .iter()
            .find(|(lo, hi, _)| *lo <= addr && addr < *hi)
            .map(|(lo, _, name)| format!("{name}, at offset 0x{:x}", addr - lo))
            .unwrap_or_else(|| "outside main memory".to_string())
    }
}

fn unique_symbol(elf: &Elf, name: &str) -> Result<u64, String> {
    let hits: Vec<u64> = elf
        .symbols
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.addr)
        .collect();
    match hits.as_slice() {
        [a] => Ok(*a),
        [] => Err(format!("the harness symbol {name} is missing from the ELF")),
        _ => Err(format!(
            "the symbol {name} is defined more than once: the candidate must not use the harness's names"
        )),
    }
}

/// PMP entries (TOR) for regions sorted by address: (pmpcfg0, pmpcfg2, pmpaddr).
fn pmp_entries(regions: &[(u64, u64, u8)]) -> Result<([u64; 2], [u64; PMP_ENTRIES]), String> {
    let mut cfg = [0u8; PMP_ENTRIES];
    let mut addr = [0u64; PMP_ENTRIES];
    let mut n = 0;
    let mut prev_hi = u64::MAX;
    for &(lo, hi, perm) in regions.iter().filter(|r| r.0 < r.1) {
        let need = if lo == prev_hi { 1 } else { 2 };
        if n + need > PMP_ENTRIES {
            return Err(format!(
                "the candidate's regions need more than {PMP_ENTRIES} PMP entries"
            ));
        }
        if lo != prev_hi {
            addr[n] = lo >> 2;
            cfg[n] = PMP_OFF;
            n += 1;
        }
        addr[n] = hi >> 2;
        cfg[n] = PMP_TOR | perm;
        n += 1;
        prev_hi = hi;
    }
    let word = |first: usize| (0..8).fold(0u64, |v, j| v | u64::from(cfg[first + j]) << (8 * j));
    Ok(([word(0), word(8)], addr))
}

fn layout(w: &Workload, elf: &Elf, mem_end: u64) -> Result<Layout, String> {
    let args = unique_symbol(elf, SYM_ARGS)?;
    let ctx = unique_symbol(elf, SYM_CTX)?;
    let heap_state = match unique_symbol(elf, SYM_HEAP) {
        Ok(a) => Some(a),
        Err(_) if elf.symbol(SYM_HEAP).is_none() => None,
        Err(e) => return Err(e),
    };
    let entry = unique_symbol(elf, "solution")?;
    let ret = unique_symbol(elf, SYM_USER_RETURN)?;
    let sym = |name: &str| {
        elf.symbol(name).ok_or_else(|| {
            format!("the linker symbol {name} is missing: the runtime's link.ld is not gemforge's")
        })
    };
    let (text_lo, text_hi) = (sym("__gf_user_text_start")?, sym("__gf_user_text_end")?);
    let (data_lo, data_hi) = (sym("__gf_user_data_start")?, sym("__gf_user_data_end")?);
    let arrays = w.arrays();
    let total: u64 = arrays
        .iter()
        .map(|a| a.bytes().next_multiple_of(64) + GUARD)
        .sum::<u64>()
        + TAIL_GUARD;
    let top = elf
        .symbol("__heap_end")
        .filter(|&t| t > DEFAULT_BASE && t <= mem_end)
        .unwrap_or(mem_end.saturating_sub(1 << 20));
    let base = top.saturating_sub(total) & !4095;
    let stack_hi = base.saturating_sub(STACK_GAP);
    let stack_lo = stack_hi.saturating_sub(USER_STACK_BYTES);
    let heap_hi = stack_lo.saturating_sub(STACK_GAP);
    let heap_lo = heap_hi.saturating_sub(USER_HEAP_BYTES);
    let (_, prog_end) = elf.extent();
    if heap_lo < prog_end + PROGRAM_MARGIN {
        return Err(format!(
            "workload {} needs {total} bytes of arrays, which do not fit with the candidate's {} MiB heap \
             and {} MiB stack between the program's end (0x{prog_end:x}) and the harness's stack (0x{top:x}); \
             use a configuration with more memory",
            w.name,
            USER_HEAP_BYTES >> 20,
            USER_STACK_BYTES >> 20
        ));
    }
    let mut guards = Vec::new();
    let mut regions: Vec<(u64, u64, String)> = vec![
        (
            DEFAULT_BASE,
            text_lo,
            "the harness's code (machine-only)".to_string(),
        ),
        (
            text_lo,
            text_hi,
            "the program's code and read-only data (read/execute only)".to_string(),
        ),
        (data_lo, data_hi, "the candidate's static data".to_string()),
        (
            data_hi.max(text_hi),
            prog_end,
            "the harness's and the C library's data (machine-only)".to_string(),
        ),
        (
            prog_end,
            heap_lo,
            "unused memory (machine-only)".to_string(),
        ),
        (
            heap_lo,
            heap_hi,
            format!(
                "the candidate's scratch heap ({} MiB)",
                USER_HEAP_BYTES >> 20
            ),
        ),
        (
            heap_hi,
            stack_lo,
            "the no-access gap below the candidate's stack (a stack overflow)".to_string(),
        ),
        (
            stack_lo,
            stack_hi,
            format!("the candidate's stack ({} MiB)", USER_STACK_BYTES >> 20),
        ),
        (
            stack_hi,
            base,
            "the no-access gap above the candidate's stack".to_string(),
        ),
    ];
    // Read-only inputs first, then the arrays the candidate may write (work arrays and the output), each
    // group contiguous in memory whatever the argument order, so each is one PMP region.
    let writable = |a: &workload::ArrayArg| a.output || a.work;
    let mut order: Vec<usize> = (0..arrays.len()).collect();
    order.sort_by_key(|&i| writable(&arrays[i]));
    let mut addrs = vec![0u64; arrays.len()];
    let mut at = base;
    for &i in &order {
        let a = &arrays[i];
        addrs[i] = at;
        let end = at + a.bytes();
        let kind = if a.output {
            "output"
        } else if a.work {
            "work"
        } else {
            "input"
        };
        regions.push((at, end, format!("the {kind} array {}", a.name)));
        at = at + a.bytes().next_multiple_of(64) + GUARD;
        regions.push((end, at, format!("the guard band after array {}", a.name)));
        guards.push((end, at - end));
    }
    guards.push((at, TAIL_GUARD));
    regions.push((
        at,
        at + TAIL_GUARD,
        "the guard band after the arrays".to_string(),
    ));
    regions.push((
        at + TAIL_GUARD,
        mem_end,
        "the harness's stack (machine-only)".to_string(),
    ));
    // The candidate's rights: the inputs, with the guard bands between them, are one read-only region;
    // the writable arrays (the output and any work arrays), with theirs, one read/write region (a write
    // into a guard band is caught after the run).
    let Some(&first_w) = order.iter().find(|&&i| writable(&arrays[i])) else {
        return Err(format!("workload {} has no output array", w.name));
    };
    let last_w = order[order.len() - 1];
    let out_lo = addrs[first_w];
    let out_hi = (addrs[last_w] + arrays[last_w].bytes()).next_multiple_of(4);
    let inputs_lo = addrs[order[0]];
    let mut pmp_regions = vec![
        (text_lo, text_hi, PMP_R | PMP_X),
        (data_lo, data_hi, PMP_R | PMP_W),
        (heap_lo, heap_hi, PMP_R | PMP_W),
        (stack_lo, stack_hi, PMP_R | PMP_W),
        (inputs_lo, out_lo, PMP_R),
        (out_lo, out_hi, PMP_R | PMP_W),
    ];
    pmp_regions.sort_by_key(|r| r.0);
    let (pmpcfg, pmpaddr) = pmp_entries(&pmp_regions)?;
    Ok(Layout {
        addrs,
        guards,
        args,
        ctx,
        heap_state,
        heap: (heap_lo, heap_hi),
        user_sp: stack_hi,
        window: CallWindow { entry, ret },
        pmpcfg,
        pmpaddr,
        regions,
    })
}

/// The outcome of one run: Ok(cycles of the measured call, report; the call's timing is in
/// `report.call`) or the failure.
type RunOutcome = Result<(u64, soc::RunReport), (Failure, String)>;

/// The failure a trap in the candidate is: `out_of_memory` for the harness's heap call, otherwise a
/// `trap`, naming the region of a faulting address.
fn classify_trap(lay: &Layout, elf: &Elf, r: &TrapReport, message: &str) -> (Failure, String) {
    let at = elf
        .function_at(r.pc)
        .map(|(name, off)| format!(" (the pc is in {name}+0x{off:x})"))
        .unwrap_or_default();
    if r.cause == TrapCause::EnvironmentCallFromU && r.regs[17] == OOM_ECALL {
        let (lo, hi) = lay.heap;
        return (
            Failure::OutOfMemory,
            format!(
                "the candidate's scratch heap of {} bytes at 0x{lo:x}..0x{hi:x} is exhausted: an allocation \
                 of {} bytes does not fit{at}",
                hi - lo,
                r.regs[10]
            ),
        );
    }
    let mut msg = message.to_string();
    if matches!(
        r.cause,
        TrapCause::LoadAccessFault
            | TrapCause::StoreAccessFault
            | TrapCause::InstructionAccessFault
    ) {
        msg = format!(
            "{msg}\n(0x{:x} is in {}; the candidate may read its inputs and read/write its output, stack, \
             static data and scratch heap, nothing else)",
            r.tval,
            lay.region_of(r.tval)
        );
    }
    (Failure::Trap, format!("{msg}\n{}", at.trim_start()))
}

// One run's inputs are all independent; bundling them would only move the list elsewhere.
#[allow(clippy::too_many_arguments)]
fn run_once(
    cfg: &HwConfig,
    w: &Workload,
    elf: &Elf,
    lay: &Layout,
    seed: u64,
    engine: Engine,
    max_cycles: u64,
    forbidden: &[u8],
) -> RunOutcome {
    let host = |e: String| (Failure::HostError, e);
    let mut mem = Memory::new(DEFAULT_BASE, u64::from(cfg.memory.size_mib) << 20);
    elf.load_into(&mut mem)
        .map_err(|e| host(format!("loading the ELF: {e}")))?;
    let inputs = w.generate_inputs(seed);
    let arrays = w.arrays();
    let out_i = w.output_index();
    let mut guard_rng = ChaCha8Rng::seed_from_u64(splitmix(seed ^ 0x6a09_e667));
    let guard_bytes: Vec<Vec<u8>> = lay
        .guards
        .iter()
        .map(|&(_, len)| (0..len).map(|_| guard_rng.gen::<u8>()).collect())
        .collect();
    let mut write = |addr: u64, data: &[u8]| {
        mem.write(addr, data)
            .map_err(|e| host(format!("writing inputs: {e}")))
    };
    let mut inp = inputs.arrays.iter();
    for (i, a) in arrays.iter().enumerate() {
        if a.output {
            write(lay.addrs[i], &vec![POISON; a.bytes() as usize])?;
        } else {
            let data = inp.next().ok_or_else(|| host("missing input".into()))?;
            write(lay.addrs[i], data)?;
        }
        write(lay.args + 8 * i as u64, &lay.addrs[i].to_le_bytes())?;
    }
    for (g, bytes) in lay.guards.iter().zip(&guard_bytes) {
        write(g.0, bytes)?;
    }
    let mut ctx = [0u64; CTX_WORDS];
    ctx[CTX_SP] = lay.user_sp;
    ctx[CTX_COUNTEREN] = 0b111; // cycle, time, instret readable in U-mode
    ctx[CTX_PMPCFG0] = lay.pmpcfg[0];
    ctx[CTX_PMPCFG2] = lay.pmpcfg[1];
    ctx[CTX_PMPADDR..].copy_from_slice(&lay.pmpaddr);
    for (i, v) in ctx.iter().enumerate() {
        write(lay.ctx + 8 * i as u64, &v.to_le_bytes())?;
    }
    let (heap_lo, heap_hi) = lay.heap;
    if let Some(state) = lay.heap_state {
        for (i, v) in [heap_lo, heap_lo, heap_hi].iter().enumerate() {
            write(state + 8 * i as u64, &v.to_le_bytes())?;
        }
    }
    let prog = Program {
        entry: elf.entry,
        tohost: None,
        fromhost: None,
    };
    let opts = SocOpts {
        engine,
        max_cycles,
        ..SocOpts::default()
    };
    let r = soc::run_call(cfg, &mut mem, prog, &opts, forbidden, lay.window)
        .map_err(|e| host(format!("starting the simulation: {e:#}")))?;
    if let Some(e) = &r.error {
        if let Some(t) = &e.trap {
            return Err(classify_trap(lay, elf, t, &e.message));
        }
        let f = match e.kind {
            "accelerator" => Failure::AcceleratorError,
            "timeout" => Failure::Timeout,
            "forbidden" => Failure::ForbiddenInstruction,
            _ => Failure::HostError,
        };
        let mut msg = e.message.clone();
        if f == Failure::ForbiddenInstruction {
            if let Some(at) = locate_pc(elf, &msg) {
                msg = format!("{msg}\n(the pc is in {at})");
            }
        }
        return Err((f, msg));
    }
    let Some(call) = r.call else {
        let code = r
            .exit_code
            .map_or_else(|| "none".to_string(), |c| c.to_string());
        return Err(host(format!(
            "the run ended (exit code {code}) without solution() being entered and returning: the harness \
             did not run as generated"
        )));
    };
    let cycles = call.cycles();

    // The output: exactly (int8) or within the fp32 tolerance (Workload::check_output).
    let mut got = vec![0u8; arrays[out_i].bytes() as usize];
    mem.read(lay.addrs[out_i], &mut got)
        .map_err(|e| host(e.to_string()))?;
    if let Err(m) = w.check_output(&inputs, &got) {
        let note = if m.got_is_poison {
            " (the poison value: never written?)"
        } else {
            ""
        };
        return Err((
            Failure::WrongResult,
            format!(
                "{} = {}{note}, expected {}; {} of {} outputs wrong, {} still hold the poison {}",
                w.output_index_str(m.index),
                m.got,
                m.want,
                m.wrong,
                m.total,
                m.poisoned,
                m.poison_pattern()
            ),
        ));
    }
    // Nothing written outside the arrays' bounds (the accelerator's DMA is not subject to PMP).
    for (g, bytes) in lay.guards.iter().zip(&guard_bytes) {
        let mut now = vec![0u8; bytes.len()];
        mem.read(g.0, &mut now).map_err(|e| host(e.to_string()))?;
        if let Some(off) = (0..now.len()).find(|&j| now[j] != bytes[j]) {
            return Err((
                Failure::WrongResult,
                format!(
                    "memory outside the arrays was written at 0x{:x} (past the end of an array)",
                    g.0 + off as u64
                ),
            ));
        }
    }
    // The inputs are read-only: the accelerator's DMA could still write them. (Work arrays may change.)
    let mut inp = inputs.arrays.iter();
    for (i, a) in arrays.iter().enumerate().filter(|(_, a)| !a.output) {
        let want = inp.next().ok_or_else(|| host("missing input".into()))?;
        if a.work {
            continue;
        }
        let mut now = vec![0u8; want.len()];
        mem.read(lay.addrs[i], &mut now)
            .map_err(|e| host(e.to_string()))?;
        if let Some(off) = (0..now.len()).find(|&j| now[j] != want[j]) {
            return Err((
                Failure::WrongResult,
                format!(
                    "the input array {} was modified at byte {off}: inputs are read-only",
                    a.name
                ),
            ));
        }
    }
    Ok((cycles, r))
}

/// `solution+0x1c` for the first `pc 0x...` in a trap message.
fn locate_pc(elf: &Elf, msg: &str) -> Option<String> {
    let hex = msg.split("pc 0x").nth(1)?;
    let end = hex
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(hex.len());
    let pc = u64::from_str_radix(&hex[..end], 16).ok()?;
    let (name, off) = elf.function_at(pc)?;
    Some(format!("{name}+0x{off:x}"))
}

/// The start of a verdict's detail when the workload's element type is not the configuration's.
pub const WRONG_DATA_TYPE: &str = "data type mismatch";

/// Whether workload `w` can run on configuration `cfg`: its element type must be the datapath's. The error
/// starts with [`WRONG_DATA_TYPE`] and says which kind of configuration to use instead.
pub fn check_data_type(cfg: &HwConfig, w: &Workload) -> Result<(), String> {
    if w.input_type() == cfg.array.input_type {
        return Ok(());
    }
    let instead = if w.input_type() == "fp32" {
        "an fp32 configuration such as rtl/configs/fp32_4x4.toml"
    } else {
        "an int8 configuration such as rtl/configs/default.toml"
    };
    Err(format!(
        "{WRONG_DATA_TYPE}: workload `{}` has {} data, but configuration `{}` has an {} datapath (use {instead})",
        w.name,
        w.input_type(),
        cfg.name,
        cfg.array.input_type
    ))
}

/// A verdict in a few words for `-v` lines: `correct, N cycles` or `FAILURE: first line of the detail`.
pub fn verdict_summary(v: &Verdict) -> String {
    match (v.failure, v.cycles) {
        (Some(f), _) => format!("{}: {}", f.name(), v.detail.lines().next().unwrap_or("")),
        (None, Some(c)) => format!("correct, {c} cycles"),
        (None, None) => "correct on the spec screens (no RTL run)".to_string(),
    }
}

/// Evaluate one candidate on one workload (never panics on a bad candidate; every failure is classified).
pub fn evaluate(cfg: &HwConfig, w: &Workload, candidate: &Path, opts: &EvalOpts) -> Verdict {
    let dim = cfg.dim();
    let fail = |f, d: String| Verdict::fail(cfg, w, f, truncate(d));
    if let Err(e) = check_data_type(cfg, w) {
        return fail(Failure::HostError, e);
    }
    if !candidate.is_file() {
        return fail(
            Failure::HostError,
            format!("{}: no such candidate file", candidate.display()),
        );
    }
    let tc = match Toolchain::new() {
        Ok(t) => t,
        Err(e) => return fail(Failure::HostError, e.to_string()),
    };
    let tc = match &opts.cache_dir {
        Some(d) => tc.with_cache_dir(d),
        None => tc,
    };
    let gemmini_h = match tc.runtime_dir(&cfg.gemmini_params_h()) {
        Ok(d) => d.join("include").join("gemmini.h"),
        Err(e) => return fail(Failure::HostError, e.to_string()),
    };
    let tc = tc.with_extra_args([
        "-include".to_string(),
        gemmini_h.display().to_string(),
        "-include".to_string(),
        "stdint.h".to_string(),
        "-include".to_string(),
        "stdbool.h".to_string(),
    ]);
    let harness = match write_harness(tc.cache_dir(), w) {
        Ok(p) => p,
        Err(e) => return fail(Failure::HostError, format!("writing the harness: {e}")),
    };
    // What -v shows (log::debug!): each step of this evaluation, named by workload and file, since
    // bench, sweep and search run several at once.
    let who = format!("eval {} {}", w.name, candidate.display());
    let t_compile = Instant::now();
    // An Autocomp admm-multifunction candidate is a solution body (or a whole function whose body is
    // taken, as Autocomp takes it): compile it inside the problem's harness context.
    let wrapped;
    let candidate = match w.autocomp_admm_problem() {
        None => candidate,
        Some(prob) => match autocomp_source(tc.cache_dir(), prob, candidate) {
            Ok(p) => {
                wrapped = p;
                wrapped.as_path()
            }
            Err((f, d)) => return fail(f, d),
        },
    };
    let object = match candidate_object(&tc, cfg, candidate, &who) {
        Ok(p) => p,
        Err((f, d)) => return fail(f, d),
    };
    let elf = match tc.compile_cached(&[object, harness], &[], &[], cfg) {
        Ok(out) => {
            if out.cache_hit {
                log::debug!(
                    "{who}: link: compile cache hit, {} (the linker did not run)",
                    out.path.display()
                );
            } else {
                for c in &out.commands {
                    log::debug!("{who}: link: {c}");
                }
            }
            out.elf
        }
        Err(ToolchainError::Compile { stderr, status }) => {
            let msg = if stderr.trim().is_empty() {
                format!("the compiler failed ({status})")
            } else {
                stderr.trim_end().to_string()
            };
            return fail(Failure::CompileError, msg);
        }
        Err(e) => return fail(Failure::HostError, e.to_string()),
    };
    let mem_end = DEFAULT_BASE + (u64::from(cfg.memory.size_mib) << 20);
    let lay = match layout(w, &elf, mem_end) {
        Ok(l) => l,
        Err(e) => return fail(Failure::HostError, e),
    };
    let base_seed = opts.seed.unwrap_or_else(fresh_seed);
    let max_cycles = opts
        .max_cycles
        .unwrap_or_else(|| default_max_cycles(w, dim));
    log::debug!(
        "{who}: phase compile {:.3} s",
        t_compile.elapsed().as_secs_f64()
    );
    let t_screens = Instant::now();
    for i in 0..opts.screen_runs {
        let seed = splitmix(base_seed.wrapping_add(u64::from(i)));
        let t_run = Instant::now();
        let outcome = run_once(
            cfg,
            w,
            &elf,
            &lay,
            seed,
            Engine::Spec,
            max_cycles,
            &opts.forbidden_functs,
        );
        log::debug!(
            "{who}: spec run {}/{} (seed {base_seed}): {} in {:.3} s",
            i + 1,
            opts.screen_runs,
            match &outcome {
                Ok((cycles, _)) => format!("correct, {cycles} cycles (spec engine timing)"),
                Err((f, d)) => format!("{}: {}", f.name(), d.lines().next().unwrap_or("")),
            },
            t_run.elapsed().as_secs_f64()
        );
        if let Err((f, d)) = outcome {
            return fail(
                f,
                format!(
                    "spec run {}/{} (seed {base_seed}): {d}",
                    i + 1,
                    opts.screen_runs
                ),
            );
        }
    }
    log::debug!(
        "{who}: phase spec screens {:.3} s",
        t_screens.elapsed().as_secs_f64()
    );
    if !opts.rtl {
        let mut v = Verdict::fail(cfg, w, Failure::HostError, String::new());
        v.correct = true;
        v.failure = None;
        v.detail = format!(
            "correct on {} spec runs (seed {base_seed}); no RTL run, so no cycles",
            opts.screen_runs
        );
        return v;
    }
    let seed = splitmix(base_seed.wrapping_add(u64::from(opts.screen_runs)));
    let t_rtl = Instant::now();
    let outcome = run_once(
        cfg,
        w,
        &elf,
        &lay,
        seed,
        Engine::Rtl,
        max_cycles,
        &opts.forbidden_functs,
    );
    let rtl_s = t_rtl.elapsed().as_secs_f64();
    match &outcome {
        Ok((cycles, r)) => log::debug!(
            "{who}: rtl run: {cycles} cycles in solution(), {} in the whole run, {rtl_s:.3} s wall ({:.0} cycles/s)",
            r.cycles,
            r.cycles as f64 / rtl_s.max(1e-9)
        ),
        Err((f, d)) => log::debug!(
            "{who}: rtl run: {}: {} ({rtl_s:.3} s wall)",
            f.name(),
            d.lines().next().unwrap_or("")
        ),
    }
    log::debug!("{who}: phase rtl run {rtl_s:.3} s");
    match outcome {
        Err((f, d)) => fail(f, format!("rtl run (seed {base_seed}): {d}")),
        Ok((cycles, r)) => {
            // A call that returned before the accelerator finished paid for the drain; say how much.
            let drain = r
                .call
                .map(|c| c.drained_at - c.returned_at)
                .filter(|&d| d > 0)
                .map(|d| format!(" (it returned with the accelerator still busy: {d} cycles of drain included)"))
                .unwrap_or_default();
            #[cfg(test)]
            let cycles = tamper::cycles(cycles);
            let ideal = w.ideal_cycles(dim);
            let floor = memory_floor_cycles(cfg, w);
            if let Err(e) = check_floors(cycles, ideal, floor) {
                return fail(
                    Failure::ImpossibleTiming,
                    format!("rtl run (seed {base_seed}): {e}"),
                );
            }
            Verdict {
                workload: w.name.clone(),
                correct: true,
                cycles: Some(cycles),
                ideal_cycles: ideal,
                memory_floor_cycles: floor,
                utilization: Some(ideal as f64 / cycles.max(1) as f64),
                failure: None,
                detail: format!(
                    "correct on {} spec runs and 1 rtl run (seed {base_seed}); {cycles} cycles in solution(), \
                     measured by the host from its first instruction until it returned and the accelerator \
                     drained{drain}: {:.2}x the ideal of {ideal} cycles, {:.2}x the memory floor of {floor} cycles",
                    opts.screen_runs,
                    cycles as f64 / ideal.max(1) as f64,
                    cycles as f64 / floor.max(1) as f64
                ),
                sp_rows_used: Some(r.sp_rows_used),
                acc_rows_used: Some(r.acc_rows_used),
                acc_rows_computed: Some(r.acc_rows_computed),
                counters: r.events.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
            }
        }
    }
}

/// Compiles the candidate alone into an object, refuses it if it has forbidden sections or references
/// forbidden symbols ([`inspect_object`]), and renames its sections into the user regions of the linker
/// script (`.gf_user.*`) with every symbol but `solution` made local (so it cannot interpose on a
/// function the harness or the C library calls). The result is stored under its content hash.
fn candidate_object(
    tc: &Toolchain,
    cfg: &HwConfig,
    candidate: &Path,
    who: &str,
) -> Result<PathBuf, (Failure, String)> {
    let host = |e: String| (Failure::HostError, e);
    let runtime = tc
        .runtime_dir(&cfg.gemmini_params_h())
        .map_err(|e| host(e.to_string()))?;
    let dir = tc.cache_dir().join("candidate-objects");
    std::fs::create_dir_all(&dir).map_err(|e| host(format!("{}: {e}", dir.display())))?;
    let tag = format!("{}-{:x}", std::process::id(), fresh_seed());
    let raw = dir.join(format!(".{tag}.raw.o"));
    let renamed = dir.join(format!(".{tag}.o"));
    let result = (|| {
        let mut gcc = std::process::Command::new(tc.gcc());
        gcc.args(tc.arch_flags())
            .args(OPT_FLAGS)
            .args(LIBC_FLAGS)
            .arg(format!("-I{}", runtime.join("include").display()))
            .args(tc.extra_args())
            .arg("-fno-common")
            .arg("-c")
            .arg(candidate)
            .arg("-o")
            .arg(&raw);
        // The candidate is compiled every time (its object is checked before use), never from the cache.
        log::debug!("{who}: compile: {}", command_line(&gcc));
        let out = gcc
            .output()
            .map_err(|e| host(format!("{}: {e}", tc.gcc().display())))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
            let msg = if stderr.is_empty() {
                format!("the compiler failed ({})", out.status)
            } else {
                stderr
            };
            return Err((Failure::CompileError, msg));
        }
        let bytes = std::fs::read(&raw).map_err(|e| host(format!("{}: {e}", raw.display())))?;
        inspect_object(&bytes).map_err(|e| (Failure::ForbiddenSymbol, e))?;
        let objcopy = objcopy_path(tc)?;
        let out = std::process::Command::new(&objcopy)
            .arg("--prefix-alloc-sections=.gf_user")
            .arg("--keep-global-symbol=solution")
            .arg(&raw)
            .arg(&renamed)
            .output()
            .map_err(|e| host(format!("{}: {e}", objcopy.display())))?;
        if !out.status.success() {
            return Err(host(format!(
                "{} failed on the candidate's object: {}",
                objcopy.display(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            )));
        }
        let bytes =
            std::fs::read(&renamed).map_err(|e| host(format!("{}: {e}", renamed.display())))?;
        let hash = crate::store::sha256_hex(&bytes);
        let path = dir.join(format!("{}.o", &hash[..32]));
        std::fs::rename(&renamed, &path).map_err(|e| host(format!("{}: {e}", path.display())))?;
        Ok(path)
    })();
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&renamed);
    result
}

/// The cross `objcopy` next to the compiler (as gcc reports it).
fn objcopy_path(tc: &Toolchain) -> Result<PathBuf, (Failure, String)> {
    let out = std::process::Command::new(tc.gcc())
        .arg("-print-prog-name=objcopy")
        .output()
        .map_err(|e| (Failure::HostError, format!("{}: {e}", tc.gcc().display())))?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let path = PathBuf::from(&name);
    if out.status.success() && path.is_absolute() && path.is_file() {
        return Ok(path);
    }
    // gcc names a bare `objcopy` when it has none of its own: use the cross one beside gcc.
    let beside = tc
        .gcc()
        .to_str()
        .and_then(|g| g.strip_suffix("gcc"))
        .map(|prefix| PathBuf::from(format!("{prefix}objcopy")));
    match beside {
        Some(p) if p.is_file() || p.components().count() == 1 => Ok(p),
        _ => Err((
            Failure::HostError,
            format!(
                "no objcopy for {} (gcc -print-prog-name=objcopy says `{name}`): install binutils-riscv64-unknown-elf",
                tc.gcc().display()
            ),
        )),
    }
}

/// Refuses a candidate object (its ELF bytes) with a constructor, destructor or thread-local section, any
/// other unexpected allocated section, or a reference to a [`FORBIDDEN_SYMBOLS`] symbol. Err names it.
pub fn inspect_object(bytes: &[u8]) -> Result<(), String> {
    use object::{Object, ObjectSection, ObjectSymbol, SectionFlags};
    let file = object::File::parse(bytes).map_err(|e| format!("the candidate's object: {e}"))?;
    let is = |name: &str, kind: &str| name == kind || name.starts_with(&format!("{kind}."));
    for sec in file.sections() {
        let name = sec.name().unwrap_or("");
        if let Some(kind) = FORBIDDEN_SECTIONS.iter().find(|k| is(name, k)) {
            let why = match *kind {
                ".tdata" | ".tbss" => "thread-local data is not available to a candidate",
                ".fini_array" | ".dtors" | ".fini" => {
                    "a destructor would run after solution() returned, outside the measured call"
                }
                _ => {
                    "a constructor would run before solution() is called, outside the measured call"
                }
            };
            return Err(format!(
                "the candidate has the section {name}: {why} (remove __attribute__((constructor/destructor))                  and thread-local variables)"
            ));
        }
        let alloc = match sec.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
            _ => false,
        };
        if alloc && !ALLOWED_SECTIONS.iter().any(|k| is(name, k)) {
            return Err(format!(
                "the candidate has the section {name}: a candidate may only have code, read-only data, data                  and zero-initialized data (.text, .rodata, .data, .bss and their .s* and .name.* forms)"
            ));
        }
    }
    for sym in file.symbols() {
        let name = sym.name().unwrap_or("");
        if sym.is_undefined() && FORBIDDEN_SYMBOLS.contains(&name) {
            return Err(format!(
                "the candidate references `{name}`: solution() must end by returning, and no work may be                  registered to run after it (exits, atexit handlers and semihosting are refused)"
            ));
        }
    }
    Ok(())
}

/// Writes the C file for an Autocomp admm-multifunction candidate (`workload::autocomp::wrap_candidate`)
/// into `<cache>/autocomp-candidates/` under its content hash.
fn autocomp_source(cache: &Path, prob: u8, candidate: &Path) -> Result<PathBuf, (Failure, String)> {
    let bytes = std::fs::read(candidate)
        .map_err(|e| (Failure::HostError, format!("{}: {e}", candidate.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let src = workload::autocomp::wrap_candidate(prob, &text, &candidate.display().to_string())
        .map_err(|e| {
            (
                Failure::CompileError,
                format!("{}: {e}", candidate.display()),
            )
        })?;
    let hash = crate::store::sha256_hex(src.as_bytes());
    let path = cache
        .join("autocomp-candidates")
        .join(format!("admm{prob}-{}.c", &hash[..32]));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(src.as_str()) {
        crate::store::write_atomic(&path, src.as_bytes()).map_err(|e| {
            (
                Failure::HostError,
                format!("writing {}: {e}", path.display()),
            )
        })?;
    }
    Ok(path)
}

/// Writes the workload's harness into `<cache>/harness/` under a content-derived name (atomically).
fn write_harness(cache: &Path, w: &Workload) -> std::io::Result<PathBuf> {
    let text = w.harness_c();
    let hash = crate::store::sha256_hex(text.as_bytes());
    let path = cache
        .join("harness")
        .join(format!("{}-{}.c", w.name, &hash[..16]));
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(path);
    }
    crate::store::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// `gemforge eval`: look the workload up, evaluate, and render; returns the text to print and the exit
/// status (0 correct, 1 incorrect, 2 tool error such as an unknown workload).
pub fn eval_command(
    cfg: &HwConfig,
    workload_name: &str,
    candidate: &Path,
    opts: &EvalOpts,
    json: bool,
) -> (String, u8) {
    let Some(w) = workload::by_name(workload_name) else {
        let names: Vec<String> = workload::all().into_iter().map(|w| w.name).collect();
        let msg = format!(
            "unknown workload `{workload_name}`; known: {}",
            names.join(", ")
        );
        return if json {
            (
                serde_json::json!({"workload": workload_name, "correct": false, "cycles": null,
                    "ideal_cycles": null, "memory_floor_cycles": null, "utilization": null, "failure": "host_error", "detail": msg,
                    "sp_rows_used": null, "acc_rows_used": null, "acc_rows_computed": null, "counters": {}})
                .to_string(),
                2,
            )
        } else {
            (format!("error: {msg}"), 2)
        };
    };
    let v = evaluate(cfg, &w, candidate, opts);
    let text = if json {
        serde_json::to_string(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    } else {
        v.to_text().trim_end().to_string()
    };
    (text, v.exit_code())
}

/// Test-only: replaces the measured cycles of the next verdicts on this thread, to prove the floors catch a
/// forged measurement. Compiled only into the library's own unit tests (not public API).
#[cfg(test)]
mod tamper {
    use std::cell::Cell;
    thread_local! {
        pub static CYCLES: Cell<Option<u64>> = const { Cell::new(None) };
    }
    pub fn cycles(measured: u64) -> u64 {
        CYCLES.with(|c| c.get()).unwrap_or(measured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/candidates")
            .join(name)
    }

    #[test]
    fn floors_name_the_floor() {
        assert_eq!(check_floors(100, 100, 50), Ok(()));
        let e = check_floors(99, 100, 50).unwrap_err();
        assert!(e.contains("ideal of 100 cycles"), "{e}");
        let e = check_floors(120, 100, 200).unwrap_err();
        assert!(e.contains("memory floor of 200 cycles"), "{e}");
        let cfg = HwConfig::default_config();
        let w = workload::by_name("gemm_256x256x256").unwrap();
        // 3 x 64 KiB over 16 + 8 bytes per cycle.
        assert_eq!(memory_floor_cycles(&cfg, &w), (3 * 65536u64).div_ceil(24));
    }

    #[test]
    fn tampered_timing_is_impossible() {
        let cfg = HwConfig::default_config();
        let w = workload::by_name("gemm_20x36x24").unwrap();
        let opts = EvalOpts {
            screen_runs: 1,
            ..EvalOpts::default()
        };
        let honest = evaluate(&cfg, &w, &candidate("gemm_tiled.c"), &opts);
        assert!(honest.correct, "{honest:#?}");
        let c = honest.cycles.unwrap();
        assert!(c >= honest.ideal_cycles && c >= honest.memory_floor_cycles);
        assert!(
            honest.detail.contains("the memory floor of"),
            "{}",
            honest.detail
        );
        assert!(honest.to_text().contains("memory floor"));
        // The same run with its measurement forged to a few cycles.
        tamper::CYCLES.with(|t| t.set(Some(59)));
        let forged = evaluate(&cfg, &w, &candidate("gemm_tiled.c"), &opts);
        tamper::CYCLES.with(|t| t.set(None));
        assert_eq!(
            forged.failure,
            Some(Failure::ImpossibleTiming),
            "{forged:#?}"
        );
        assert!(!forged.correct);
        assert_eq!(forged.cycles, None);
        assert!(
            forged.detail.contains("below the ideal"),
            "{}",
            forged.detail
        );
    }

    #[test]
    fn forbidden_sections_and_symbols_are_named() {
        let tc = Toolchain::new().expect("toolchain (scripts/setup.sh)");
        let dir = std::env::temp_dir().join(format!("gf-inspect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let compile = |name: &str, code: &str| -> Vec<u8> {
            let src = dir.join(format!("{name}.c"));
            std::fs::write(&src, code).unwrap();
            let obj = dir.join(format!("{name}.o"));
            let st = std::process::Command::new(tc.gcc())
                .args(tc.arch_flags())
                .args(OPT_FLAGS)
                .args(["-ffreestanding", "-c"])
                .arg(&src)
                .arg("-o")
                .arg(&obj)
                .status()
                .unwrap();
            assert!(st.success());
            std::fs::read(&obj).unwrap()
        };
        for (name, code, needle) in [
            ("ctor", "volatile int x; __attribute__((constructor)) static void f(void) { x = 1; }", ".init_array"),
            ("dtor", "volatile int x; __attribute__((destructor)) static void f(void) { x = 1; }", ".fini_array"),
            ("tls", "__thread int t; int g(void) { return t; }", ".tbss"),
            ("exit", "void exit(int); void solution(void) { exit(0); }", "`exit`"),
            ("atexit", "int atexit(void (*)(void)); static void h(void) {} void solution(void) { atexit(h); }", "`atexit`"),
            ("semihost", "long __gf_semihost(long, void *); void solution(void) { __gf_semihost(0x18, 0); }", "`__gf_semihost`"),
            ("odd", "__attribute__((section(\".tohost\"))) long t = 1;", ".tohost"),
        ] {
            let e = match inspect_object(&compile(name, code)) {
                Ok(()) => panic!("{name}: accepted"),
                Err(e) => e,
            };
            assert!(e.contains(needle), "{name}: {e}");
        }
        assert_eq!(
            inspect_object(&compile(
                "ok",
                "static int s[4]; int solution(int i) { return s[i]; }"
            )),
            Ok(())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pmp_entries_share_boundaries() {
        let (cfg, addr) = pmp_entries(&[
            (0x100, 0x200, PMP_R | PMP_X),
            (0x200, 0x300, PMP_R | PMP_W),
            (0x400, 0x500, PMP_R),
        ])
        .unwrap();
        assert_eq!(&addr[..5], &[0x40, 0x80, 0xc0, 0x100, 0x140]);
        let c = |i: usize| (cfg[0] >> (8 * i)) as u8;
        assert_eq!(c(0), PMP_OFF);
        assert_eq!(c(1), PMP_TOR | PMP_R | PMP_X);
        assert_eq!(c(2), PMP_TOR | PMP_R | PMP_W);
        assert_eq!(c(3), PMP_OFF);
        assert_eq!(c(4), PMP_TOR | PMP_R);
        let many: Vec<(u64, u64, u8)> = (0..9)
            .map(|i| (i * 0x100, i * 0x100 + 0x80, PMP_R))
            .collect();
        assert!(pmp_entries(&many).unwrap_err().contains("more than 16"));
    }
}
