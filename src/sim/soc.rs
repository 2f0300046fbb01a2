//! The co-simulation loop: one hart, one accelerator (RTL or functional model) and main memory, cycle by
//! cycle. The hart issues at most one instruction per cycle and is then busy for that instruction's latency;
//! a custom-3 instruction is offered to the accelerator until its command queue takes it (and, with xd, the
//! hart waits for the response); `fence` waits until the accelerator is idle with no memory write
//! outstanding. While the accelerator is idle and no command is pending, its clock is not ticked: the hart's
//! latencies are skipped in one step, which changes no count (an idle accelerator's state does not change),
//! and the accelerator is told ([`Accelerator::skip_idle`]), so that its clock, the cycles its errors name
//! and the time of a waveform are always the run's cycle count.
//!
//! A measured call ([`run_call`], used by the evaluation harness): the host, not the program, times one
//! call of a function that runs in U-mode. The clock starts when the hart first enters U-mode, at the
//! function's entry (the cycle its first instruction may issue); the function returns by jumping to a
//! return address that U-mode may not execute, and the resulting instruction fetch fault is the return.
//! The clock then runs on until the accelerator is idle with no memory write outstanding (a function that
//! returns without a fence pays for the drain), and the run ends there: nothing after the return executes.
//! Every other exception in U-mode ends the run as a trap (the hart is supervised), and HTIF is off.

use crate::sim::accel::rtl::RtlAccel;
use crate::sim::accel::spec::SpecAccel;
use crate::sim::accel::usage::RowUsage;
use crate::sim::accel::{AccelError, Accelerator};
use crate::sim::config::HwConfig;
use crate::sim::cpu::semihost::{htif_write, semihost, Console, HostAction, HostError, HtifAction};
use crate::sim::cpu::{Hart, Mode, Step, TrapCause, TrapReport};
use crate::sim::isa::RoccCmd;
use crate::sim::mem::Memory;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// Which accelerator model answers the hart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The Verilated RTL: the ground truth for cycles.
    Rtl,
    /// The functional model: exact results, every command completes at once (cycles are not meaningful).
    Spec,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Rtl => "rtl",
            Engine::Spec => "spec",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SocOpts {
    pub engine: Engine,
    /// The run ends with a timeout error after this many cycles.
    pub max_cycles: u64,
    /// Record an FST waveform of the accelerator (RTL engine only).
    pub trace: Option<PathBuf>,
    /// Copy the program's output to this process's stdout/stderr as it is produced.
    pub echo: bool,
    /// Most bytes of the program's output (stdout and stderr together) kept in the report; more is dropped
    /// and counted ([`RunReport::stdout_dropped`]). The echo, if on, is never cut.
    pub output_limit: usize,
}

/// The default of [`SocOpts::output_limit`]: 64 MiB.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 << 20;

impl Default for SocOpts {
    fn default() -> Self {
        SocOpts {
            engine: Engine::Rtl,
            max_cycles: 10_000_000_000,
            trace: None,
            echo: false,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }
}

/// Where a loaded program starts and where its HTIF mailboxes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    pub entry: u64,
    pub tohost: Option<u64>,
    pub fromhost: Option<u64>,
}

/// Why a run ended without the program exiting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunError {
    /// "trap", "accelerator", "timeout", "host", "forbidden" (see [`run_restricted`]).
    pub kind: &'static str,
    pub message: String,
    /// For a trap: the hart's report (the cause, the faulting address in `tval`, the registers).
    #[serde(skip)]
    pub trap: Option<Box<TrapReport>>,
}

/// The call [`run_call`] measures: the function's entry and the return address its caller gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallWindow {
    pub entry: u64,
    pub ret: u64,
}

/// What the host measured of a call ([`run_call`]); all in cycles since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CallTiming {
    /// The first instruction of the function may issue.
    pub entered_at: u64,
    /// The function returned (jumped to the return address).
    pub returned_at: u64,
    /// The accelerator was idle with no memory write outstanding: the end of the measurement.
    pub drained_at: u64,
}

impl CallTiming {
    /// The measured cycles: entry to drain.
    pub fn cycles(&self) -> u64 {
        self.drained_at - self.entered_at
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub exit_code: Option<i64>,
    pub cycles: u64,
    pub instret: u64,
    pub stdout: String,
    pub stderr: String,
    /// Bytes of stdout / stderr the program wrote beyond [`SocOpts::output_limit`], not in `stdout` /
    /// `stderr`.
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    /// The limit that applied.
    pub output_limit: usize,
    /// Accelerator event totals (all zero for the spec engine).
    pub events: Vec<(&'static str, u64)>,
    /// Distinct scratchpad rows written by mvin (Autocomp's definition of "used").
    pub sp_rows_used: u32,
    /// Distinct accumulator rows written by mvin.
    pub acc_rows_used: u32,
    /// Distinct accumulator rows computes wrote results to.
    pub acc_rows_computed: u32,
    /// A loop FSM ran: the rows its own commands wrote are not in the three counts above.
    pub loop_fsm_rows_uncounted: bool,
    pub engine: Engine,
    pub wall_s: f64,
    pub error: Option<RunError>,
    /// The measured call of [`run_call`] (None for other runs, or if the call never returned).
    pub call: Option<CallTiming>,
}

impl RunReport {
    pub fn cycles_per_s(&self) -> f64 {
        self.cycles as f64 / self.wall_s.max(1e-9)
    }

    /// The run as one JSON object: `{"exit_code", "cycles", "instret", "stdout", "stdout_truncated",
    /// "stdout_dropped_bytes", "output_limit_bytes", "accel": {...counters, "sp_rows_used",
    /// "acc_rows_used"}, "sim": {"engine", "wall_s", "cycles_per_s"}, "error"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut accel = serde_json::Map::new();
        for &(name, v) in &self.events {
            accel.insert(name.to_string(), v.into());
        }
        accel.insert("sp_rows_used".into(), self.sp_rows_used.into());
        accel.insert("acc_rows_used".into(), self.acc_rows_used.into());
        accel.insert("acc_rows_computed".into(), self.acc_rows_computed.into());
        accel.insert(
            "loop_fsm_rows_uncounted".into(),
            self.loop_fsm_rows_uncounted.into(),
        );
        serde_json::json!({
            "exit_code": self.exit_code,
            "cycles": self.cycles,
            "instret": self.instret,
            "stdout": self.stdout,
            "stdout_truncated": self.stdout_dropped > 0,
            "stdout_dropped_bytes": self.stdout_dropped,
            "output_limit_bytes": self.output_limit,
            "accel": accel,
            "sim": {
                "engine": self.engine.name(),
                "wall_s": self.wall_s,
                "cycles_per_s": self.cycles_per_s(),
            },
            "error": self.error,
        })
    }
}

/// What the hart is doing.
enum HartState {
    Running,
    /// A custom-3 instruction: not yet taken by the accelerator, or (with xd) waiting for its response.
    Rocc {
        cmd: RoccCmd,
        rd: u8,
        xd: bool,
        accepted: bool,
    },
    Fence,
}

/// Build the chosen accelerator.
pub fn make_accel(cfg: &HwConfig, opts: &SocOpts) -> anyhow::Result<Box<dyn Accelerator>> {
    Ok(match (opts.engine, &opts.trace) {
        (Engine::Rtl, None) => Box::new(RtlAccel::new(cfg)?),
        (Engine::Rtl, Some(p)) => Box::new(RtlAccel::new_traced(cfg, p)?),
        (Engine::Spec, None) => Box::new(SpecAccel::new(cfg)),
        (Engine::Spec, Some(_)) => anyhow::bail!("--trace records the RTL; it needs --engine rtl"),
    })
}

/// Run a loaded program to its exit (or to an error) and report.
pub fn run(
    cfg: &HwConfig,
    mem: &mut Memory,
    prog: Program,
    opts: &SocOpts,
) -> anyhow::Result<RunReport> {
    run_restricted(cfg, mem, prog, opts, &[])
}

/// [`run`], except that the run ends with a `forbidden` error when the hart issues a RoCC command whose
/// funct is in `forbidden` (e.g. the search keeps candidates off the loop FSMs, so that the hardware FSM
/// stays an independent upper bound). The command is refused before the accelerator sees it.
pub fn run_restricted(
    cfg: &HwConfig,
    mem: &mut Memory,
    prog: Program,
    opts: &SocOpts,
    forbidden: &[u8],
) -> anyhow::Result<RunReport> {
    simulate(cfg, mem, prog, opts, forbidden, None)
}

/// [`run_restricted`], timing one U-mode call as the host (see the module documentation): the run ends
/// when the call has returned and the accelerator has drained ([`RunReport::call`] is then set), or
/// earlier with an error. A trap in U-mode, including a PMP access fault, is an error of kind "trap"
/// whose [`RunError::trap`] holds the report. HTIF is off (`prog.tohost` is ignored).
pub fn run_call(
    cfg: &HwConfig,
    mem: &mut Memory,
    prog: Program,
    opts: &SocOpts,
    forbidden: &[u8],
    window: CallWindow,
) -> anyhow::Result<RunReport> {
    let prog = Program {
        tohost: None,
        fromhost: None,
        ..prog
    };
    simulate(cfg, mem, prog, opts, forbidden, Some(window))
}

/// Where a measured call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No call is measured.
    Off,
    /// Before the call: the hart is in M-mode.
    Before,
    /// In the call since this cycle.
    Inside(u64),
}

fn simulate(
    cfg: &HwConfig,
    mem: &mut Memory,
    prog: Program,
    opts: &SocOpts,
    forbidden: &[u8],
    window: Option<CallWindow>,
) -> anyhow::Result<RunReport> {
    let mut accel = make_accel(cfg, opts).context("building the accelerator model")?;
    let mut hart = Hart::new(prog.entry, cfg.cpu.clone());
    hart.set_tohost(prog.tohost);
    hart.set_supervised(window.is_some());
    let mut phase = if window.is_some() {
        Phase::Before
    } else {
        Phase::Off
    };
    let mut call: Option<CallTiming> = None;
    let mut console = Console {
        echo: opts.echo,
        limit: opts.output_limit,
        ..Console::default()
    };
    let mut usage = RowUsage::new(cfg);
    let start = Instant::now();
    let mut now: u64 = 0;
    let mut ready_at: u64 = 0; // the hart may start its next instruction at this cycle
    let mut state = HartState::Running;
    let mut exit_code = None;
    let mut error: Option<RunError> = None;
    // Idle cycles not yet passed on to the accelerator (`skip_idle`): handed over in one call before its
    // next tick and at the end, rather than one call per instruction of the hart.
    let mut idle_lag: u64 = 0;

    let trap = |r: Box<TrapReport>| RunError {
        kind: "trap",
        message: r.to_string(),
        trap: Some(r),
    };
    let accel_err = |e: AccelError| RunError {
        kind: "accelerator",
        message: e.to_string(),
        trap: None,
    };
    let host_err = |e: HostError| RunError {
        kind: "host",
        message: e.to_string(),
        trap: None,
    };

    'run: loop {
        if now >= opts.max_cycles {
            let waiting = match state {
                HartState::Running => String::new(),
                HartState::Rocc { cmd, .. } => {
                    format!(" while waiting for the accelerator to take or answer {cmd}")
                }
                HartState::Fence => {
                    " while waiting at a fence for the accelerator to finish".into()
                }
            };
            error = Some(RunError {
                kind: "timeout",
                message: format!(
                    "no exit after {} cycles (--max-cycles){waiting}; pc 0x{:x}; accelerator: {}",
                    opts.max_cycles,
                    hart.pc(),
                    accel.debug_state()
                ),
                trap: None,
            });
            break;
        }
        // ---- the hart ----
        match state {
            HartState::Running if now >= ready_at => match hart.step(mem, now) {
                Step::Retired { cycles } | Step::Exception { cycles, .. } => {
                    ready_at = now + u64::from(cycles);
                    if phase == Phase::Before && hart.mode() == Mode::User {
                        let w = window.unwrap_or(CallWindow { entry: 0, ret: 0 });
                        if hart.pc() != w.entry {
                            error = Some(RunError {
                                kind: "host",
                                message: format!(
                                    "the harness entered U-mode at pc 0x{:x}, not at the measured function \
                                     (0x{:x})",
                                    hart.pc(),
                                    w.entry
                                ),
                                trap: None,
                            });
                            break 'run;
                        }
                        phase = Phase::Inside(ready_at);
                    }
                }
                Step::Rocc { cmd, .. } if forbidden.contains(&cmd.funct) => {
                    error = Some(RunError {
                        kind: "forbidden",
                        message: format!(
                            "the program issued {cmd} at pc 0x{:x}: this instruction is not allowed here",
                            hart.pc()
                        ),
                        trap: None,
                    });
                    break 'run;
                }
                Step::Rocc { cmd, rd, xd } => {
                    state = HartState::Rocc {
                        cmd,
                        rd,
                        xd,
                        accepted: false,
                    }
                }
                Step::Fence => state = HartState::Fence,
                Step::Semihost { op, arg } => match semihost(&mut console, mem, op, arg, now) {
                    Ok(HostAction::Return(v)) => {
                        ready_at = now + u64::from(hart.complete_semihost(v))
                    }
                    Ok(HostAction::Exit(code)) => {
                        exit_code = Some(code);
                        hart.complete_semihost(0);
                        break 'run;
                    }
                    Err(e) => {
                        error = Some(host_err(e));
                        break 'run;
                    }
                },
                Step::Htif { value, cycles } => {
                    ready_at = now + u64::from(cycles);
                    match htif_write(&mut console, mem, value) {
                        Ok(HtifAction::Exit(code)) => {
                            exit_code = Some(code);
                            break 'run;
                        }
                        Ok(a) => {
                            let reply = match a {
                                HtifAction::Reply(v) => Some(v),
                                _ => None,
                            };
                            let done = prog
                                .tohost
                                .map(|t| mem.write(t, &0u64.to_le_bytes()))
                                .transpose()
                                .and_then(|_| match (reply, prog.fromhost) {
                                    (Some(v), Some(f)) => mem.write(f, &v.to_le_bytes()),
                                    _ => Ok(()),
                                });
                            if let Err(e) = done {
                                error = Some(RunError {
                                    kind: "host",
                                    message: format!("HTIF mailbox: {e}"),
                                    trap: None,
                                });
                                break 'run;
                            }
                        }
                        Err(e) => {
                            error = Some(host_err(e));
                            break 'run;
                        }
                    }
                }
                Step::Trap(r) => {
                    if let (Phase::Inside(entered_at), Some(w)) = (phase, window) {
                        if r.cause == TrapCause::InstructionAccessFault && r.pc == w.ret {
                            // The call returned: the clock runs until the accelerator has drained.
                            let returned_at = now;
                            if idle_lag > 0 {
                                accel.skip_idle(std::mem::take(&mut idle_lag));
                            }
                            while accel.busy() {
                                if now >= opts.max_cycles {
                                    break;
                                }
                                let ticked = accel.tick(mem);
                                now += 1;
                                if let Err(e) = ticked {
                                    error = Some(accel_err(e));
                                    break 'run;
                                }
                            }
                            if accel.busy() {
                                error = Some(RunError {
                                    kind: "timeout",
                                    message: format!(
                                        "the call returned at cycle {returned_at}, but the accelerator \
                                         was still busy after {} cycles (--max-cycles); accelerator: {}",
                                        opts.max_cycles,
                                        accel.debug_state()
                                    ),
                                    trap: None,
                                });
                                break 'run;
                            }
                            call = Some(CallTiming {
                                entered_at,
                                returned_at,
                                drained_at: now,
                            });
                            break 'run;
                        }
                    }
                    error = Some(trap(r));
                    break 'run;
                }
            },
            HartState::Running => {}
            HartState::Rocc {
                cmd,
                rd,
                xd,
                accepted: false,
            } => match accel.offer(cmd, rd, mem) {
                Ok(true) => {
                    usage.observe(cmd);
                    if xd {
                        state = HartState::Rocc {
                            cmd,
                            rd,
                            xd,
                            accepted: true,
                        };
                    } else {
                        ready_at = now + u64::from(hart.complete_rocc(None));
                        state = HartState::Running;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    error = Some(accel_err(e));
                    break 'run;
                }
            },
            HartState::Rocc { accepted: true, .. } => {
                if let Some(r) = accel.take_response() {
                    ready_at = now + u64::from(hart.complete_rocc(Some(r.data)));
                    state = HartState::Running;
                }
            }
            HartState::Fence => {
                if !accel.busy() {
                    ready_at = now + u64::from(hart.complete_fence());
                    state = HartState::Running;
                }
            }
        }
        // ---- time ----
        let waiting = !matches!(state, HartState::Running);
        if accel.busy() || waiting {
            // The cycle is spent even when the accelerator reports an error at its end, so the run's count
            // and the cycle the accelerator's message names agree.
            if idle_lag > 0 {
                accel.skip_idle(std::mem::take(&mut idle_lag));
            }
            let ticked = accel.tick(mem);
            now += 1;
            if let Err(e) = ticked {
                error = Some(accel_err(e));
                break;
            }
        } else {
            // The accelerator is idle: nothing happens until the hart's next instruction. Its clock moves on
            // unevaluated (before its next tick), so that its cycle numbers (messages, waveform time) are
            // the run's.
            let next = (now + 1).max(ready_at);
            idle_lag += next - now;
            now = next;
        }
    }
    if idle_lag > 0 {
        accel.skip_idle(idle_lag);
    }
    // Responses of counter reads the program never waited for are dropped with the run.
    if let (None, Some(e)) = (&error, accel.error()) {
        error = Some(accel_err(e));
    }
    let wall_s = start.elapsed().as_secs_f64();
    Ok(RunReport {
        exit_code,
        cycles: now,
        instret: hart.instret(),
        stdout: console.stdout_lossy(),
        stderr: console.stderr_lossy(),
        stdout_dropped: console.stdout_dropped,
        stderr_dropped: console.stderr_dropped,
        output_limit: opts.output_limit,
        events: accel.events(),
        sp_rows_used: usage.sp_rows_used(),
        acc_rows_used: usage.acc_rows_used(),
        acc_rows_computed: usage.acc_rows_computed(),
        loop_fsm_rows_uncounted: usage.loop_fsm_seen(),
        engine: opts.engine,
        wall_s,
        error,
        call,
    })
}

/// What `gemforge run` is given: C sources to compile, or one prebuilt ELF.
#[derive(Debug, Clone, Default)]
pub struct RunInputs {
    pub programs: Vec<PathBuf>,
    pub include_dirs: Vec<PathBuf>,
    pub defines: Vec<(String, Option<String>)>,
    /// `-march` / `-mabi` for C sources (None: rv64gc / lp64d).
    pub march: Option<String>,
    pub mabi: Option<String>,
    /// Arguments for the program's `main` after argv[0] (see [`write_args`]).
    pub args: Vec<String>,
}

/// The symbol of the runtime's argument block (sim/target/crt0.S), and its size.
pub const ARGS_SYMBOL: &str = "__gf_args";

/// Write `main`'s arguments into the runtime's reserved block `__gf_args` (sim/target/crt0.S), which crt0
/// passes to `main(argc, argv, envp)`. The block is laid out in the order of the RISC-V psABI's initial
/// process stack: argc (8 bytes), the argv pointers, a NULL, an empty envp (one NULL), then the strings.
/// A program linked without gemforge's runtime has no block: giving it arguments is an error, and without
/// arguments nothing is written.
pub fn write_args(
    mem: &mut Memory,
    elf: &crate::sim::toolchain::Elf,
    argv: &[String],
    extra_given: bool,
) -> anyhow::Result<()> {
    let Some(block) = elf.symbols.iter().find(|s| s.name == ARGS_SYMBOL) else {
        anyhow::ensure!(
            !extra_given,
            "the program has no argument block ({ARGS_SYMBOL}): it was not linked with gemforge's runtime \
             (sim/target/crt0.S), so it cannot be given arguments; run it without `-- ARGS`"
        );
        return Ok(());
    };
    let pointers = 8 * (1 + argv.len() as u64 + 1 + 1);
    let strings: u64 = argv.iter().map(|a| a.len() as u64 + 1).sum();
    anyhow::ensure!(
        pointers + strings <= block.size,
        "the program's arguments take {} bytes, more than the {} bytes the runtime reserves for them \
         ({ARGS_SYMBOL} in sim/target/crt0.S); pass fewer or shorter arguments",
        pointers + strings,
        block.size
    );
    if let Some(bad) = argv.iter().find(|a| a.contains('\0')) {
        anyhow::bail!("argument {bad:?} contains a NUL byte, which a C string cannot hold");
    }
    let mut bytes = Vec::with_capacity((pointers + strings) as usize);
    bytes.extend_from_slice(&(argv.len() as u64).to_le_bytes());
    let mut at = block.addr + pointers;
    for a in argv {
        bytes.extend_from_slice(&at.to_le_bytes());
        at += a.len() as u64 + 1;
    }
    bytes.extend_from_slice(&[0u8; 16]); // argv's NULL, then envp's
    for a in argv {
        bytes.extend_from_slice(a.as_bytes());
        bytes.push(0);
    }
    mem.write(block.addr, &bytes)
        .map_err(|e| anyhow::anyhow!("writing the program's arguments at 0x{:x}: {e}", block.addr))
}

/// Whether `path` starts with the ELF magic bytes (false when it cannot be read).
pub fn is_elf(path: &std::path::Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Compile (or load) the program, place it in a fresh main memory and run it: `gemforge run`.
pub fn run_files(cfg: &HwConfig, inputs: &RunInputs, opts: &SocOpts) -> anyhow::Result<RunReport> {
    run_files_logged(cfg, inputs, opts, &mut |_| {})
}

/// [`run_files`], telling `log` what it does, one line at a time (`gemforge --verbose run`): the compiler
/// commands or the compile cache hit, the program loaded and its arguments, and the time of each phase.
pub fn run_files_logged(
    cfg: &HwConfig,
    inputs: &RunInputs,
    opts: &SocOpts,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<RunReport> {
    use crate::sim::toolchain::{load_elf, Toolchain};
    anyhow::ensure!(
        !inputs.programs.is_empty(),
        "no program given: name C sources or one ELF file"
    );
    let t_compile = Instant::now();
    let elf = if inputs.programs.len() == 1 && is_elf(&inputs.programs[0]) {
        anyhow::ensure!(
            inputs.march.is_none() && inputs.mabi.is_none(),
            "--march / --mabi choose how C sources are compiled; {} is already an ELF file",
            inputs.programs[0].display()
        );
        log(&format!(
            "load: prebuilt ELF {}",
            inputs.programs[0].display()
        ));
        load_elf(&inputs.programs[0])?
    } else {
        if let Some(p) = inputs.programs.iter().find(|p| is_elf(p)) {
            anyhow::bail!(
                "{} is an ELF file: give either C sources or one ELF file",
                p.display()
            );
        }
        use crate::sim::toolchain::{DEFAULT_MABI, DEFAULT_MARCH};
        let mut tc = Toolchain::new()?;
        if inputs.march.is_some() || inputs.mabi.is_some() {
            tc = tc.with_arch(
                inputs.march.as_deref().unwrap_or(DEFAULT_MARCH),
                inputs.mabi.as_deref().unwrap_or(DEFAULT_MABI),
            )?;
        }
        let out =
            tc.compile_cached(&inputs.programs, &inputs.include_dirs, &inputs.defines, cfg)?;
        if out.cache_hit {
            log(&format!(
                "compile: cache hit, {} (the compiler did not run)",
                out.path.display()
            ));
        } else {
            for c in &out.commands {
                log(&format!("compile: {c}"));
            }
            log(&format!("compile: stored as {}", out.path.display()));
        }
        for w in out.warnings.lines() {
            log(&format!("compile: {w}"));
        }
        out.elf
    };
    log(&format!(
        "phase compile {:.3} s",
        t_compile.elapsed().as_secs_f64()
    ));
    let t_load = Instant::now();
    let mut mem = Memory::new(
        crate::sim::mem::DEFAULT_BASE,
        u64::from(cfg.memory.size_mib) << 20,
    );
    elf.load_into(&mut mem)?;
    // argv[0] is the program as named on the command line.
    let argv: Vec<String> = std::iter::once(inputs.programs[0].display().to_string())
        .chain(inputs.args.iter().cloned())
        .collect();
    write_args(&mut mem, &elf, &argv, !inputs.args.is_empty())?;
    log(&format!(
        "load: entry 0x{:x}, {} segments, {} MiB of memory; main gets argc {} argv {argv:?}",
        elf.entry,
        elf.segments.len(),
        cfg.memory.size_mib,
        argv.len()
    ));
    let prog = Program {
        entry: elf.entry,
        tohost: elf.tohost,
        fromhost: elf.fromhost,
    };
    log(&format!(
        "phase load {:.3} s",
        t_load.elapsed().as_secs_f64()
    ));
    let t_run = Instant::now();
    let r = run(cfg, &mut mem, prog, opts);
    log(&format!(
        "phase simulate {:.3} s ({} engine)",
        t_run.elapsed().as_secs_f64(),
        opts.engine.name()
    ));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::mem::DEFAULT_BASE;

    const T0: u32 = 5;
    const T1: u32 = 6;
    const T2: u32 = 7;
    const RA: u32 = 1;

    fn i_type(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i_type(imm, rs1, 0, rd, 0x13)
    }
    fn slli(rd: u32, rs1: u32, sh: i32) -> u32 {
        i_type(sh, rs1, 1, rd, 0x13)
    }
    fn srli(rd: u32, rs1: u32, sh: i32) -> u32 {
        i_type(sh, rs1, 5, rd, 0x13)
    }
    fn csrw(csr: u16, rs1: u32) -> u32 {
        i_type(i32::from(csr), rs1, 1, 0, 0x73)
    }
    const AUIPC_T0: u32 = (T0 << 7) | 0x17;
    const MRET: u32 = 0x3020_0073;
    const RET: u32 = 0x0000_8067; // jalr x0, 0(ra)

    /// M code at BASE: PMP gives U-mode R/X on [BASE + 0x100, BASE + 0x200), mepc = BASE + 0x100,
    /// MPP = U, ra = BASE + 0x40 (machine-only), mret. U code at BASE + 0x100: `user`.
    fn program(user: &[u32]) -> Memory {
        let mut m = vec![
            AUIPC_T0,
            addi(T1, T0, 0x100),
            csrw(0x341, T1), // mepc
            srli(T2, T1, 2),
            csrw(0x3b0, T2), // pmpaddr0 = user code start (OFF)
            addi(T1, T1, 0x100),
            srli(T2, T1, 2),
            csrw(0x3b1, T2), // pmpaddr1 = user code end (TOR)
            addi(T2, 0, 0x680),
            slli(T2, T2, 1), // 0xd00: entry 1 = TOR | X | R
            csrw(0x3a0, T2),
            csrw(0x300, 0), // MPP = U
            addi(RA, T0, 0x40),
            MRET,
        ];
        // Up to the user code: nops, including the return address BASE + 0x40 (U-mode cannot fetch it).
        m.resize(0x100 / 4, 0x13);
        m.extend_from_slice(user);
        let mut mem = Memory::new(DEFAULT_BASE, 1 << 20);
        let bytes: Vec<u8> = m.iter().flat_map(|w| w.to_le_bytes()).collect();
        mem.write(DEFAULT_BASE, &bytes).expect("program fits");
        mem
    }

    fn call(user: &[u32]) -> RunReport {
        let cfg = HwConfig::default_config();
        let mut mem = program(user);
        let prog = Program {
            entry: DEFAULT_BASE,
            tohost: None,
            fromhost: None,
        };
        let opts = SocOpts {
            engine: Engine::Spec,
            max_cycles: 10_000,
            ..SocOpts::default()
        };
        let window = CallWindow {
            entry: DEFAULT_BASE + 0x100,
            ret: DEFAULT_BASE + 0x40,
        };
        run_call(&cfg, &mut mem, prog, &opts, &[], window).expect("simulate")
    }

    #[test]
    fn the_host_measures_exactly_the_calls_instructions() {
        let cpu = HwConfig::default_config().cpu;
        let r = call(&[addi(T0, T0, 1), addi(T0, T0, 1), addi(T0, T0, 1), RET]);
        assert_eq!(r.error, None);
        let c = r.call.expect("the call returned");
        assert_eq!(c.cycles(), u64::from(3 * cpu.alu + cpu.jump), "{c:?}");
        assert_eq!(c.returned_at, c.drained_at); // the accelerator was idle
        assert!(c.entered_at > 0);
        assert_eq!(r.cycles, c.drained_at); // nothing runs after the measurement
    }

    #[test]
    fn a_trap_in_the_call_ends_the_run_with_its_report() {
        // A store: U-mode has no W anywhere.
        let sd = (T0 << 20) | (T0 << 15) | (3 << 12) | 0x23;
        let r = call(&[sd, RET]);
        assert_eq!(r.call, None);
        let e = r.error.expect("an error");
        assert_eq!(e.kind, "trap");
        let t = e.trap.expect("the report");
        assert_eq!(t.cause, TrapCause::StoreAccessFault);
        assert_eq!(t.tval, DEFAULT_BASE);
        assert!(e.message.contains("U-mode"), "{}", e.message);
    }
}
