//! The `gemforge` command line: thin; every subcommand calls one library function.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gemforge::sim::config::HwConfig;
use gemforge::sim::soc::{run_files, Engine, RunInputs, RunReport, SocOpts};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gemforge",
    version,
    about = "Cycle-accurate co-simulation of Gemmini-compatible accelerators"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure simulated cycles per wall-clock second of the RTL on a compute-bound stream
    /// (weight-stationary DIMxDIMxDIM matmuls back to back on resident data, single-threaded).
    Perf {
        /// Simulate at least this many cycles.
        #[arg(long, default_value_t = 2_000_000)]
        cycles: u64,
        /// Print one JSON object {"cycles", "wall_s", "cycles_per_s"} instead of text.
        #[arg(long)]
        json: bool,
        /// Instead, run the co-simulation benchmarks: hart instructions per second with the accelerator
        /// idle, and whole-system cycles per second on a 256x256x256 tiled int8 matmul.
        #[arg(long)]
        system: bool,
        /// Hardware configuration (TOML) of the compute-bound stream; default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE", conflicts_with = "system")]
        config: Option<PathBuf>,
    },
    /// Run a C program (compiled with riscv64-unknown-elf-gcc and the bundled runtime) or a prebuilt ELF on
    /// the hart and the accelerator; print its output and a summary with the ground-truth cycle count.
    /// The exit status is the program's exit code, or 2 when the simulation fails.
    Run {
        /// C source files (compiled together), or one RISC-V ELF executable.
        #[arg(required = true)]
        programs: Vec<PathBuf>,
        /// Add an include directory (searched before the bundled gemmini.h and gemmini_params.h).
        #[arg(short = 'I', value_name = "DIR")]
        include: Vec<PathBuf>,
        /// Define a preprocessor macro: NAME or NAME=VALUE.
        #[arg(short = 'D', value_name = "NAME[=VAL]")]
        define: Vec<String>,
        /// Hardware configuration (TOML); default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Stop with a timeout error after this many cycles.
        #[arg(long, default_value_t = 10_000_000_000)]
        max_cycles: u64,
        /// Accelerator model: rtl (cycle-accurate, the default) or spec (functional, instant).
        #[arg(long, value_enum, default_value_t = EngineArg::Rtl)]
        engine: EngineArg,
        /// Write an FST waveform of the accelerator to FILE (rtl engine).
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Print exactly one JSON object on stdout instead of the output and summary.
        #[arg(long)]
        json: bool,
        /// ISA to compile C sources for (gcc's -march; default rv64gc, as gemmini-rocc-tests).
        #[arg(long, value_name = "ISA")]
        march: Option<String>,
        /// ABI to compile C sources for (gcc's -mabi; default lp64d).
        #[arg(long, value_name = "ABI")]
        mabi: Option<String>,
    },
    /// List the workloads: name, shape, MACs and ideal cycles (MACs / DIM^2).
    Workloads {
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Hardware configuration (TOML) whose DIM gives the ideal cycles; default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Judge one candidate C file defining the workload's solution(...): functional screen on the spec
    /// engine with fresh random inputs, then one RTL run for the cycles of the call. Exit status 0 if
    /// correct, 1 if incorrect, 2 when the evaluation itself failed (e.g. unknown workload).
    Eval {
        /// The workload (see `gemforge workloads`).
        #[arg(long)]
        workload: String,
        /// The candidate C file (no #include lines needed: gemmini.h, stdint.h, stdbool.h are force-included).
        candidate: PathBuf,
        /// Print exactly one JSON object.
        #[arg(long)]
        json: bool,
        /// Independent input sets checked on the spec engine before the RTL run.
        #[arg(long, default_value_t = 3)]
        engine_screen_runs: u32,
        /// Base seed of the inputs (default: fresh).
        #[arg(long)]
        seed: Option<u64>,
        /// Cycle limit of each run (default: 50 x ideal cycles + 10 M).
        #[arg(long)]
        max_cycles: Option<u64>,
        /// Hardware configuration (TOML); default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Optimize a workload's program: Autocomp's plan-then-implement beam search with the built-in
    /// proposer or LLMs, every candidate judged on the RTL; the run directory survives kills (--resume).
    /// Exit status 0 with a result, 1 without, 130 when interrupted (resumable).
    Search(gemforge::opt::search::cli::SearchArgs),
    /// Rebuild a search run's report.md, plot.svg, best.c and summary.json from its journal and store.
    Report {
        /// The run directory of `gemforge search`.
        run_dir: PathBuf,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run the baseline ladder (naive, library, hand-optimized, hardware FSM) on workloads, each program
    /// judged by the full protocol (spec screens, then the RTL for cycles), in parallel; print one table of
    /// cycles, utilization and speedup over the library.
    Bench {
        /// Workload names or groups (paper, reuse, conv, mpc, test), comma-separated or repeated; default: paper.
        #[arg(long, num_args = 1..)]
        workloads: Vec<String>,
        /// Baselines: naive, library, hand, fsm (comma-separated); default: all.
        #[arg(long, value_delimiter = ',')]
        baselines: Vec<String>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Parallel evaluations (default: the available parallelism).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Write the generated programs to DIR (default: a fresh gemforge-bench-PID directory under the
        /// system temp dir; the programs are kept either way, and the JSON names them).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Independent input sets checked on the spec engine before each RTL run.
        #[arg(long, default_value_t = 2)]
        engine_screen_runs: u32,
        /// Base seed of the inputs (default: fresh).
        #[arg(long)]
        seed: Option<u64>,
        /// Hardware configuration (TOML); default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the planning prompt (or, with --plan, the implementation prompt) an LLM would receive for a
    /// workload and a parent program, rendered from the bundled templates or a directory of edited ones.
    /// The planning prompt shows the parent's measured cycles and memory use. Nothing is sent.
    Prompt {
        /// The workload (see `gemforge workloads`).
        #[arg(long)]
        workload: String,
        /// The parent program (a candidate C file).
        parent: PathBuf,
        /// A file with a plan: render the implementation prompt for it.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// A directory whose isa.md, rules.md, plan.md, implement.md, menu_*.txt override the bundled ones.
        #[arg(long, value_name = "DIR")]
        prompts: Option<PathBuf>,
        /// Document the matmul loop instruction (gemmini_loop_ws) in the ISA description.
        #[arg(long)]
        loop_fsm: bool,
        /// Hardware configuration (TOML); default: the bundled Gemmini default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Manage the RTL variants built on demand for non-default configurations (cached under the user's
    /// cache directory): `rtl build CONFIG...` builds ahead of time, `rtl list` shows, `rtl clean` removes.
    Rtl {
        #[arg(value_enum)]
        action: gemforge::sim::accel::variant::RtlAction,
        /// Hardware configurations (TOML), for `build`.
        configs: Vec<PathBuf>,
        /// Print one JSON value instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run every (configuration, workload, program) on the RTL in parallel and print one table: cycles,
    /// utilization and speedup against the first configuration. Also writes sweep.csv and sweep.svg.
    /// Programs that cannot run on a configuration are reported by their failure class.
    Sweep {
        /// Hardware configurations (TOML); the first is the reference for speedups.
        #[arg(long, required = true, num_args = 1..)]
        configs: Vec<PathBuf>,
        /// Workloads (see `gemforge workloads`).
        #[arg(long, required = true, num_args = 1..)]
        workloads: Vec<String>,
        /// A candidate C file or a baseline name (naive, library, hand, fsm); several may follow one
        /// --program, which may be repeated. Default: naive.
        #[arg(long = "program", value_name = "NAME|FILE", num_args = 1..)]
        programs: Vec<String>,
        /// Directory for sweep.csv, sweep.svg and the generated baseline programs.
        #[arg(long, default_value = "sweep-out")]
        out: PathBuf,
        /// Parallel evaluations (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Seed of the inputs (the same data on every configuration).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Check a hardware configuration file and print what it derives (rows, banks, address bits).
    Config {
        /// The TOML file (default: the bundled rtl/configs/default.toml).
        file: Option<PathBuf>,
    },
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(v).context("encoding the result")?
    );
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EngineArg {
    Rtl,
    Spec,
}

fn load_config(file: Option<&PathBuf>) -> anyhow::Result<HwConfig> {
    match file {
        Some(p) => Ok(HwConfig::from_file(p)?),
        None => Ok(HwConfig::default_config()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Run {
            programs,
            include,
            define,
            config,
            max_cycles,
            engine,
            trace,
            json,
            march,
            mabi,
        } => {
            let opts = SocOpts {
                engine: match engine {
                    EngineArg::Rtl => Engine::Rtl,
                    EngineArg::Spec => Engine::Spec,
                },
                max_cycles,
                trace,
                echo: !json,
            };
            let inputs = RunInputs {
                programs,
                include_dirs: include,
                defines: define
                    .iter()
                    .map(|d| match d.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (d.clone(), None),
                    })
                    .collect(),
                march,
                mabi,
            };
            let result =
                load_config(config.as_ref()).and_then(|cfg| run_files(&cfg, &inputs, &opts));
            return Ok(report_run(result, json, opts.engine));
        }
        Cmd::Perf {
            system: true, json, ..
        } => {
            let r = gemforge::bench::perf::run_system(&HwConfig::default_config())?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "hart: {} instructions in {:.3} s: {:.0} instructions/s (accelerator idle)",
                    r.hart_instret, r.hart_wall_s, r.hart_instr_per_s
                );
                println!(
                    "256x256x256 tiled matmul: {} cycles ({} in the accelerator region) in {:.3} s: {:.0} cycles/s",
                    r.matmul_cycles, r.matmul_region_cycles, r.matmul_wall_s, r.matmul_cycles_per_s
                );
            }
        }
        Cmd::Perf {
            cycles,
            json,
            config,
            ..
        } => {
            let cfg = load_config(config.as_ref())?;
            let r = gemforge::bench::perf::run(&cfg, cycles)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "simulated {} cycles in {:.3} s: {:.0} cycles/s (DIM={}, {}, compute-bound WS stream, 1 thread)",
                    r.cycles,
                    r.wall_s,
                    r.cycles_per_s,
                    cfg.dim(),
                    cfg.array.input_type
                );
            }
        }
        Cmd::Workloads { json, config } => {
            let cfg = load_config(config.as_ref())?;
            print!("{}", gemforge::bench::workload::list(cfg.dim(), json));
            if json {
                println!();
            }
        }
        Cmd::Eval {
            workload,
            candidate,
            json,
            engine_screen_runs,
            seed,
            max_cycles,
            config,
        } => {
            let cfg = load_config(config.as_ref())?;
            let opts = gemforge::bench::eval::EvalOpts {
                screen_runs: engine_screen_runs,
                seed,
                max_cycles,
                ..Default::default()
            };
            let (text, code) =
                gemforge::bench::eval::eval_command(&cfg, &workload, &candidate, &opts, json);
            println!("{text}");
            return Ok(ExitCode::from(code));
        }
        Cmd::Search(args) => {
            let (text, code) = gemforge::opt::search::cli::run_cli(&args)?;
            println!("{text}");
            return Ok(ExitCode::from(code));
        }
        Cmd::Report { run_dir, json } => {
            println!(
                "{}",
                gemforge::opt::search::cli::report_command(&run_dir, json)?
            );
        }
        Cmd::Bench {
            workloads,
            baselines,
            json,
            jobs,
            out_dir,
            engine_screen_runs,
            seed,
            config,
        } => {
            let cfg = load_config(config.as_ref())?;
            let opts = gemforge::bench::ladder::BenchOpts {
                workloads,
                baselines: baselines
                    .iter()
                    .map(|b| gemforge::bench::baseline::Baseline::parse(b))
                    .collect::<anyhow::Result<_>>()?,
                jobs,
                out_dir,
                progress: !json,
                eval: gemforge::bench::eval::EvalOpts {
                    screen_runs: engine_screen_runs,
                    seed,
                    ..Default::default()
                },
            };
            println!(
                "{}",
                gemforge::bench::ladder::bench_command(&cfg, &opts, json)?
            );
        }
        Cmd::Prompt {
            workload,
            parent,
            plan,
            prompts,
            loop_fsm,
            config,
        } => {
            let cfg = load_config(config.as_ref())?;
            let plan = match plan {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?,
                ),
                None => None,
            };
            let preview = gemforge::opt::prompts::PromptPreview {
                workload: &workload,
                parent: &parent,
                plan,
                prompts_dir: prompts.as_deref(),
                loop_fsm,
            };
            print!("{}", gemforge::opt::prompts::preview(&cfg, &preview)?);
        }
        Cmd::Rtl {
            action,
            configs,
            json,
        } => {
            print!(
                "{}",
                gemforge::sim::accel::variant::rtl_command(action, &configs, json)?
            );
            if json {
                println!();
            }
        }
        Cmd::Sweep {
            configs,
            workloads,
            programs,
            out,
            jobs,
            seed,
            json,
        } => {
            let args = gemforge::bench::sweep::SweepArgs {
                configs,
                workloads,
                programs,
                out_dir: out,
                jobs,
                seed,
            };
            print!("{}", gemforge::bench::sweep::sweep_command(&args, json)?);
        }
        Cmd::Config { file } => {
            let cfg = load_config(file.as_ref())?;
            println!("configuration `{}` is valid", cfg.name);
            println!(
                "  DIM {} ({} dataflows), {} inputs with {} accumulation",
                cfg.dim(),
                if cfg.has_os() { "OS and WS" } else { "WS only" },
                cfg.array.input_type,
                cfg.array.acc_type
            );
            println!(
                "  scratchpad {} rows in {} banks of {}",
                cfg.sp_rows(),
                cfg.scratchpad.banks,
                cfg.sp_bank_rows()
            );
            println!(
                "  accumulator {} rows in {} banks of {}",
                cfg.acc_rows(),
                cfg.accumulator.banks,
                cfg.acc_bank_rows()
            );
            println!(
                "  local-address row field {} bits; MAX_BLOCK_LEN {}, MAX_BLOCK_LEN_ACC {}",
                cfg.local_addr_row_bits(),
                cfg.max_block_len(),
                cfg.max_block_len_acc()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
