//! `gemforge run`: compile (or load) a program, run it on the hart and the accelerator, and print its
//! output and a summary (or one JSON object). The exit status is the program's exit code, or 2 when the
//! simulation itself failed.

use super::load_config;
use crate::sim::soc::{run_files, Engine, RunInputs, RunReport, SocOpts};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {
    /// C source files (compiled together), or one RISC-V ELF executable.
    #[arg(required = true)]
    pub programs: Vec<PathBuf>,
    /// Add an include directory (searched before the bundled gemmini.h and gemmini_params.h).
    #[arg(short = 'I', value_name = "DIR")]
    pub include: Vec<PathBuf>,
    /// Define a preprocessor macro: NAME or NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VAL]")]
    pub define: Vec<String>,
    /// Hardware configuration (TOML); default: the bundled Gemmini default.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stop with a timeout error after this many cycles.
    #[arg(long, default_value_t = 10_000_000_000)]
    pub max_cycles: u64,
    /// Accelerator model: rtl (cycle-accurate, the default) or spec (functional, instant).
    #[arg(long, value_enum, default_value_t = EngineArg::Rtl)]
    pub engine: EngineArg,
    /// Write an FST waveform of the accelerator to FILE (rtl engine).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print exactly one JSON object on stdout instead of the output and summary.
    #[arg(long)]
    pub json: bool,
}

/// The accelerator model, as the command line names it.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum EngineArg {
    Rtl,
    Spec,
}

pub fn run(a: RunArgs) -> ExitCode {
    let opts = SocOpts {
        engine: match a.engine {
            EngineArg::Rtl => Engine::Rtl,
            EngineArg::Spec => Engine::Spec,
        },
        max_cycles: a.max_cycles,
        trace: a.trace,
        echo: !a.json,
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
    };
    let result = load_config(a.config.as_ref()).and_then(|cfg| run_files(&cfg, &inputs, &opts));
    report_run(result, a.json, opts.engine)
}

/// Print a run's result (text or one JSON object) and choose the exit status: the program's exit code,
/// or 2 when the simulation failed.
fn report_run(result: anyhow::Result<RunReport>, json: bool, engine: Engine) -> ExitCode {
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            if json {
                let v = serde_json::json!({
                    "exit_code": null, "cycles": null, "instret": null, "stdout": "",
                    "accel": null, "sim": {"engine": engine.name(), "wall_s": null, "cycles_per_s": null},
                    "error": {"kind": "setup", "message": format!("{e:#}")},
                });
                println!("{v}");
            } else {
                eprintln!("error: {e:#}");
            }
            return ExitCode::from(2);
        }
    };
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
        println!("scratchpad     {} rows used", r.sp_rows_used);
        println!("accumulator    {} rows used", r.acc_rows_used);
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
        (None, Some(c)) => ExitCode::from((c & 0xff) as u8),
        _ => ExitCode::from(2),
    }
}
