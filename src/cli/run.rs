//! `gemforge run`: compile (or load) a program, run it on the hart and the accelerator, and print its
//! output and a summary (or one JSON object). `gemforge run prog.c -- a b` gives `main` argc 3 and argv
//! {"prog.c", "a", "b"}.
//!
//! The program's output is echoed as it is produced (never cut); the copy kept for `--json` holds at most
//! `--max-output` bytes (64 MiB by default). Past that, the JSON says `"stdout_truncated": true` with the
//! number of bytes dropped, and a warning on stderr names the flag that raises the limit.
//!
//! Exit status: the program's exit code when it is 0-255; 255 when the program exited with a code outside
//! that range (the JSON's `exit_code` has the full value); [`SIM_FAILED`] (125) when the simulation itself
//! failed (setup, compile error, trap, accelerator error, timeout). 125 is the status container runtimes
//! use for "the tool failed", so it is not mistaken for the small codes programs return.

use super::load_config;
use crate::sim::soc::{run_files_logged, Engine, RunInputs, RunReport, SocOpts};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {
    /// C or assembly sources (.c, .S, .s; compiled together), or one RISC-V ELF executable.
    #[arg(required = true)]
    pub programs: Vec<PathBuf>,
    /// Add an include directory (searched before the bundled gemmini.h and gemmini_params.h).
    #[arg(short = 'I', value_name = "DIR")]
    pub include: Vec<PathBuf>,
    /// Define a preprocessor macro: NAME or NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VAL]")]
    pub define: Vec<String>,
    /// Hardware configuration (TOML) [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stop with a timeout error after this many cycles.
    #[arg(long, default_value_t = 10_000_000_000)]
    pub max_cycles: u64,
    /// Accelerator model: rtl (cycle-accurate, the default) or spec (functional, instant).
    #[arg(long, value_enum, default_value_t = EngineArg::Rtl)]
    pub engine: EngineArg,
    /// Write an FST waveform of the accelerator to FILE, which must end in .fst (rtl engine).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print exactly one JSON object on stdout instead of the output and summary.
    #[arg(long)]
    pub json: bool,
    /// ISA to compile C sources for (gcc's -march) [default: rv64gc, as gemmini-rocc-tests]
    #[arg(long, value_name = "ISA")]
    pub march: Option<String>,
    /// ABI to compile C sources for (gcc's -mabi) [default: lp64d]
    #[arg(long, value_name = "ABI")]
    pub mabi: Option<String>,
    /// Most bytes of the program's output (stdout and stderr together) kept for --json; more is dropped,
    /// counted in the JSON (stdout_truncated) and warned about. A number with an optional K, M or G suffix
    /// (powers of 1024).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub max_output: usize,
    /// Arguments for the program's main, after `--` (argv[0] is the first program file as given).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// A byte count: digits with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (e.g. 1000, 64K, 64M, 2G)"))?;
    n.checked_mul(1usize << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// The exit status of a run whose simulation failed (see the module documentation).
pub const SIM_FAILED: u8 = 125;

/// The exit status of a program that exited with `code`: the code itself when a shell can carry it,
/// else 255, so that no failing code wraps around to success (256 would be 0).
pub fn program_status(code: i64) -> u8 {
    u8::try_from(code).unwrap_or(255)
}

/// The accelerator model, as the command line names it.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum EngineArg {
    Rtl,
    Spec,
}

pub fn run(a: RunArgs, verbose: bool) -> ExitCode {
    if let Err(e) =
        check_program_files(&a.programs).and_then(|()| check_trace_name(a.trace.as_deref()))
    {
        return report_run(Err(e), a.json, engine_of(a.engine));
    }
    let opts = SocOpts {
        engine: engine_of(a.engine),
        max_cycles: a.max_cycles,
        trace: a.trace,
        echo: !a.json,
        output_limit: a.max_output,
    };
    let inputs = RunInputs {
        programs: a.programs,
        include_dirs: a.include,
        defines: a
            .define
            .iter()
            .map(|d| match d.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (d.clone(), None),
            })
            .collect(),
        march: a.march,
        mabi: a.mabi,
        args: a.args,
    };
    let mut log = |line: &str| {
        if verbose {
            eprintln!("gemforge: {line}");
        }
    };
    let result = load_config(a.config.as_ref())
        .and_then(|cfg| run_files_logged(&cfg, &inputs, &opts, &mut log));
    report_run(result, a.json, opts.engine)
}

fn engine_of(e: EngineArg) -> Engine {
    match e {
        EngineArg::Rtl => Engine::Rtl,
        EngineArg::Spec => Engine::Spec,
    }
}

/// The waveform is FST; a file named otherwise (say `out.vcd`) is refused rather than written in a format
/// its name does not promise.
fn check_trace_name(trace: Option<&std::path::Path>) -> anyhow::Result<()> {
    match trace {
        Some(p) if p.extension().is_none_or(|x| x != "fst") => anyhow::bail!(
            "--trace {}: the waveform is written as FST (VCD is not built); name the file *.fst",
            p.display()
        ),
        _ => Ok(()),
    }
}

/// Every program file is an ELF executable or a source the compiler takes by its extension; anything else
/// (say, a text file named `prog.elf`) is refused here, naming it, instead of failing later in the linker.
fn check_program_files(programs: &[PathBuf]) -> anyhow::Result<()> {
    const SOURCES: [&str; 3] = ["c", "S", "s"];
    for p in programs {
        let is_source = p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| SOURCES.contains(&x));
        if is_source || crate::sim::soc::is_elf(p) {
            continue;
        }
        std::fs::metadata(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        anyhow::bail!(
            "{}: neither an ELF executable (it does not start with the ELF magic bytes) nor a source \
             file (.c, .S, .s); gemforge run takes C or assembly sources, or one RISC-V ELF executable",
            p.display()
        );
    }
    Ok(())
}

/// Print a run's result (text or one JSON object) and choose the exit status (see the module
/// documentation).
fn report_run(result: anyhow::Result<RunReport>, json: bool, engine: Engine) -> ExitCode {
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            if json {
                let v = serde_json::json!({
                    "exit_code": null, "cycles": null, "instret": null, "stdout": "",
                    "stdout_truncated": false, "stdout_dropped_bytes": 0,
                    "accel": null, "sim": {"engine": engine.name(), "wall_s": null, "cycles_per_s": null},
                    "error": {"kind": "setup", "message": format!("{e:#}")},
                });
                println!("{v}");
            } else {
                eprintln!("error: {e:#}");
            }
            return ExitCode::from(SIM_FAILED);
        }
    };
    if r.stdout_dropped > 0 || r.stderr_dropped > 0 {
        // The echo (text mode) showed everything; only the kept copy, which --json prints, is cut.
        if json {
            eprintln!(
                "warning: the program wrote {} bytes of stdout and {} of stderr beyond --max-output ({} bytes); \
                 the JSON's stdout holds the first part only (stdout_truncated); raise --max-output to keep it all",
                r.stdout_dropped, r.stderr_dropped, r.output_limit
            );
        }
    }
    if json {
        println!("{}", r.to_json());
    } else {
        println!("---- gemforge run summary ({} engine)", r.engine.name());
        match (&r.error, r.exit_code) {
            (Some(e), _) => println!("error ({}): {}", e.kind, e.message),
            (None, Some(c)) => println!("exit code      {c}"),
            (None, None) => {}
        }
        println!("cycles         {}", r.cycles);
        println!("instructions   {}", r.instret);
        println!("scratchpad     {} rows written by mvin", r.sp_rows_used);
        println!(
            "accumulator    {} rows written by mvin, {} rows written by computes",
            r.acc_rows_used, r.acc_rows_computed
        );
        if r.loop_fsm_rows_uncounted {
            println!("               (rows the loop FSMs wrote are not counted: they issue their own commands)");
        }
        let nonzero: Vec<_> = r.events.iter().filter(|(_, v)| *v != 0).collect();
        if !nonzero.is_empty() {
            println!("accelerator counters:");
            for (name, v) in nonzero {
                println!("  {name:<36} {v}");
            }
        }
        println!(
            "simulation     {:.3} s, {:.0} cycles/s",
            r.wall_s,
            r.cycles_per_s()
        );
    }
    match (&r.error, r.exit_code) {
        (None, Some(c)) => ExitCode::from(program_status(c)),
        _ => ExitCode::from(SIM_FAILED),
    }
}
