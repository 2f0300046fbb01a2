//! One candidate in, one verdict out: the correctness protocol.
//!
//! A candidate is a C file defining the workload's `solution(...)` (no `#include` lines needed: `gemmini.h`,
//! `stdint.h` and `stdbool.h` are force-included). It is compiled as its own translation unit next to the
//! workload's generated harness (`workload::Workload::harness_c`). Each run gets a fresh main memory: the ELF
//! is loaded, then the host places the arrays in an I/O region just below the stack reservation (above the
//! program and its heap margin), writes fresh full-range random inputs into it, poisons the output with
//! 0x5A, fills guard bands around the arrays with random bytes, and writes the array addresses into the
//! harness's private pointer table. The reference is computed on the host and never enters simulated
//! memory. After the run the host reads the output and compares it (`Workload::check_output`: exactly for
//! int8 outputs, within a relative tolerance for fp32 ones), and checks that the guard bands and the
//! harness's completion flag are as expected.
//!
//! The functional screen runs on the spec engine with `screen_runs` independent input sets; only if all
//! pass, one RTL run gives the cycles of the bracketed call (and is checked too).

use crate::bench::workload::{self, Workload, DONE_MAGIC, SYM_ARGS, SYM_CYCLES, SYM_DONE};
use crate::sim::config::HwConfig;
use crate::sim::mem::{Memory, DEFAULT_BASE};
use crate::sim::soc::{self, Engine, Program, SocOpts};
use crate::sim::toolchain::{Elf, Toolchain, ToolchainError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The value every output byte holds before the candidate runs (defined with the output check).
pub use crate::bench::workload::POISON;
/// Random guard bytes between and after the arrays.
const GUARD: u64 = 256;
const TAIL_GUARD: u64 = 4096;
/// Room left for the program's heap between its end and the I/O region.
const HEAP_MARGIN: u64 = 1 << 20;
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
    /// The evaluation itself failed (no compiler, workload does not fit memory, ...), not the candidate.
    HostError,
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
            Failure::HostError => "host_error",
        }
    }
}

/// The verdict on one candidate (`gemforge eval --json` prints exactly these fields).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub workload: String,
    pub correct: bool,
    /// Cycles of the bracketed `solution(...)` call on the RTL (None unless the RTL run completed).
    pub cycles: Option<u64>,
    pub ideal_cycles: u64,
    /// ideal_cycles / cycles.
    pub utilization: Option<f64>,
    pub failure: Option<Failure>,
    pub detail: String,
    pub sp_rows_used: Option<u32>,
    pub acc_rows_used: Option<u32>,
    /// Accelerator event totals of the RTL run.
    pub counters: BTreeMap<String, u64>,
}

impl Verdict {
    fn fail(w: &Workload, dim: u32, failure: Failure, detail: String) -> Verdict {
        Verdict {
            workload: w.name.clone(),
            correct: false,
            cycles: None,
            ideal_cycles: w.ideal_cycles(dim),
            utilization: None,
            failure: Some(failure),
            detail,
            sp_rows_used: None,
            acc_rows_used: None,
            counters: BTreeMap::new(),
        }
    }

    /// `gemforge eval`'s exit status: 0 correct, 1 incorrect, 2 when the evaluation itself failed.
    pub fn exit_code(&self) -> u8 {
        match self.failure {
            None if self.correct => 0,
            Some(Failure::HostError) => 2,
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
        if let Some(u) = self.utilization {
            s.push_str(&format!("utilization    {:.1}%\n", u * 100.0));
        }
        if let (Some(sp), Some(acc)) = (self.sp_rows_used, self.acc_rows_used) {
            s.push_str(&format!("scratchpad     {sp} rows used\n"));
            s.push_str(&format!("accumulator    {acc} rows used\n"));
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

/// Where the arrays live in simulated memory.
struct Layout {
    addrs: Vec<u64>,
    /// Guard bands: (address, length).
    guards: Vec<(u64, u64)>,
    args: u64,
    cycles: u64,
    done: u64,
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

fn layout(w: &Workload, elf: &Elf, mem_end: u64) -> Result<Layout, String> {
    let args = unique_symbol(elf, SYM_ARGS)?;
    let cycles = unique_symbol(elf, SYM_CYCLES)?;
    let done = unique_symbol(elf, SYM_DONE)?;
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
    let (_, prog_end) = elf.extent();
    if base < prog_end + HEAP_MARGIN {
        return Err(format!(
            "workload {} needs {total} bytes of arrays, which do not fit between the program's end \
             (0x{prog_end:x}) plus a 1 MiB heap and the stack (0x{top:x}); use a configuration with more memory",
            w.name
        ));
    }
    let mut addrs = Vec::new();
    let mut guards = Vec::new();
    let mut at = base;
    for a in &arrays {
        addrs.push(at);
        let end = at + a.bytes();
        at = at + a.bytes().next_multiple_of(64) + GUARD;
        guards.push((end, at - end));
    }
    guards.push((at, TAIL_GUARD));
    Ok(Layout {
        addrs,
        guards,
        args,
        cycles,
        done,
    })
}

/// The outcome of one run: Ok(cycles of the bracketed call, report) or the failure.
type RunOutcome = Result<(u64, soc::RunReport), (Failure, String)>;

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
    let prog = Program {
        entry: elf.entry,
        tohost: elf.tohost,
        fromhost: elf.fromhost,
    };
    let opts = SocOpts {
        engine,
        max_cycles,
        trace: None,
        echo: false,
    };
    let r = soc::run_restricted(cfg, &mut mem, prog, &opts, forbidden)
        .map_err(|e| host(format!("starting the simulation: {e:#}")))?;
    if let Some(e) = &r.error {
        let f = match e.kind {
            "trap" => Failure::Trap,
            "accelerator" => Failure::AcceleratorError,
            "timeout" => Failure::Timeout,
            "forbidden" => Failure::ForbiddenInstruction,
            _ => Failure::HostError,
        };
        let mut msg = e.message.clone();
        if matches!(f, Failure::Trap | Failure::ForbiddenInstruction) {
            if let Some(at) = locate_pc(elf, &msg) {
                msg = format!("{msg}\n(the pc is in {at})");
            }
        }
        return Err((f, msg));
    }
    let mut word = [0u8; 8];
    mem.read(lay.done, &mut word[..4])
        .map_err(|e| host(e.to_string()))?;
    let done = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
    let code = r
        .exit_code
        .map_or_else(|| "none".to_string(), |c| c.to_string());
    if done != DONE_MAGIC {
        return Err((
            Failure::WrongResult,
            format!("the program exited (code {code}) before solution() returned to the harness"),
        ));
    }
    if r.exit_code != Some(0) {
        return Err((
            Failure::WrongResult,
            format!("the program exited with code {code}, not 0"),
        ));
    }
    mem.read(lay.cycles, &mut word)
        .map_err(|e| host(e.to_string()))?;
    let cycles = u64::from_le_bytes(word);

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
    // Nothing written outside the arrays' bounds.
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

/// Evaluate one candidate on one workload (never panics on a bad candidate; every failure is classified).
pub fn evaluate(cfg: &HwConfig, w: &Workload, candidate: &Path, opts: &EvalOpts) -> Verdict {
    let dim = cfg.dim();
    let fail = |f, d: String| Verdict::fail(w, dim, f, truncate(d));
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
    let elf = match tc.compile(&[candidate.to_path_buf(), harness], &[], &[], cfg) {
        Ok(elf) => elf,
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
    for i in 0..opts.screen_runs {
        let seed = splitmix(base_seed.wrapping_add(u64::from(i)));
        if let Err((f, d)) = run_once(
            cfg,
            w,
            &elf,
            &lay,
            seed,
            Engine::Spec,
            max_cycles,
            &opts.forbidden_functs,
        ) {
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
    if !opts.rtl {
        let mut v = Verdict::fail(w, dim, Failure::HostError, String::new());
        v.correct = true;
        v.failure = None;
        v.detail = format!(
            "correct on {} spec runs (seed {base_seed}); no RTL run, so no cycles",
            opts.screen_runs
        );
        return v;
    }
    let seed = splitmix(base_seed.wrapping_add(u64::from(opts.screen_runs)));
    match run_once(
        cfg,
        w,
        &elf,
        &lay,
        seed,
        Engine::Rtl,
        max_cycles,
        &opts.forbidden_functs,
    ) {
        Err((f, d)) => fail(f, format!("rtl run (seed {base_seed}): {d}")),
        Ok((cycles, r)) => {
            let ideal = w.ideal_cycles(dim);
            Verdict {
                workload: w.name.clone(),
                correct: true,
                cycles: Some(cycles),
                ideal_cycles: ideal,
                utilization: Some(ideal as f64 / cycles.max(1) as f64),
                failure: None,
                detail: format!(
                    "correct on {} spec runs and 1 rtl run (seed {base_seed}); {cycles} cycles in solution()",
                    opts.screen_runs
                ),
                sp_rows_used: Some(r.sp_rows_used),
                acc_rows_used: Some(r.acc_rows_used),
                counters: r.events.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
            }
        }
    }
}

/// Writes the workload's harness into `<cache>/harness/` under a content-derived name (atomically).
fn write_harness(cache: &Path, w: &Workload) -> std::io::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let text = w.harness_c();
    let hash: String = Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache.join("harness");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-{hash}.c", w.name));
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(path);
    }
    let tmp = dir.join(format!(
        ".{}-{hash}.{}.{:x}.tmp",
        w.name,
        std::process::id(),
        fresh_seed()
    ));
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, &path)?;
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
                    "ideal_cycles": null, "utilization": null, "failure": "host_error", "detail": msg,
                    "sp_rows_used": null, "acc_rows_used": null, "counters": {}})
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
