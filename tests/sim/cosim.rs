//! End-to-end co-simulation: C programs compiled with riscv64-unknown-elf-gcc run on the hart with the
//! accelerator, under both engines; results are checked inside the programs (CPU references) and here
//! on the host, and failures are classified.

use gemforge::sim::config::HwConfig;
use gemforge::sim::soc::{run_files, Engine, RunInputs, RunReport, SocOpts};
use std::path::PathBuf;
use std::process::Command;

fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

fn run_with(name: &str, engine: Engine, max_cycles: u64) -> RunReport {
    let cfg = HwConfig::default_config();
    let inputs = RunInputs {
        programs: vec![program(name)],
        ..RunInputs::default()
    };
    let opts = SocOpts {
        engine,
        max_cycles,
        ..SocOpts::default()
    };
    run_files(&cfg, &inputs, &opts).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

fn run(name: &str, engine: Engine) -> RunReport {
    run_with(name, engine, 200_000_000)
}

/// The program's output without the lines that report cycles (those differ between engines).
fn results(r: &RunReport) -> Vec<String> {
    r.stdout
        .lines()
        .filter(|l| !l.starts_with("cycles"))
        .map(str::to_string)
        .collect()
}

/// The test programs' data generator (tests/programs/common.h).
struct Lcg(u32);
impl Lcg {
    fn rand8(&mut self) -> i8 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 24) as i8
    }
}

fn fnv(bytes: impl IntoIterator<Item = i8>) -> u32 {
    bytes.into_iter().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b as u8)).wrapping_mul(16_777_619)
    })
}

fn sat8(x: i64) -> i8 {
    x.clamp(-128, 127) as i8
}

fn checksum_line(r: &RunReport) -> String {
    r.stdout
        .lines()
        .find(|l| l.starts_with("C checksum"))
        .unwrap_or_else(|| panic!("no checksum in {:?}", r.stdout))
        .to_string()
}

#[test]
fn programs_pass_on_both_engines_with_identical_results() {
    for name in [
        "matmul_ws.c",
        "matmul_os.c",
        "data_movement.c",
        "tiled_bias.c",
    ] {
        let rtl = run(name, Engine::Rtl);
        let spec = run(name, Engine::Spec);
        for r in [&rtl, &spec] {
            assert_eq!(
                r.error,
                None,
                "{name} on {}: {:?}",
                r.engine.name(),
                r.error
            );
            assert_eq!(
                r.exit_code,
                Some(0),
                "{name} on {}: {}",
                r.engine.name(),
                r.stdout
            );
            assert!(r.stdout.contains("PASS"), "{name}: {}", r.stdout);
        }
        assert_eq!(results(&rtl), results(&spec), "{name}: engines disagree");
        assert!(rtl.sp_rows_used > 0, "{name}: no scratchpad use recorded");
        assert!(
            rtl.events
                .iter()
                .any(|&(n, v)| n == "load_active_cycle" && v > 0),
            "{name}: the RTL's counters did not count: {:?}",
            rtl.events
        );
    }
}

#[test]
fn host_recomputes_the_results() {
    // matmul_ws.c: C = sat8(A*B + D), A, B, D drawn element by element in that order.
    let mut g = Lcg(777);
    let (mut a, mut b, mut d) = ([[0i8; 16]; 16], [[0i8; 16]; 16], [[0i8; 16]; 16]);
    for i in 0..16 {
        for j in 0..16 {
            a[i][j] = g.rand8();
            b[i][j] = g.rand8();
            d[i][j] = g.rand8();
        }
    }
    let c = (0..16).flat_map(|i| {
        (0..16).map(move |j| {
            sat8(
                (0..16)
                    .map(|k| i64::from(a[i][k]) * i64::from(b[k][j]))
                    .sum::<i64>()
                    + i64::from(d[i][j]),
            )
        })
    });
    let want = format!("C checksum {:08x}", fnv(c));
    assert_eq!(checksum_line(&run("matmul_ws.c", Engine::Rtl)), want);

    // tiled_bias.c: 64x64x64 with a bias row.
    let mut g = Lcg(777);
    let n = 64;
    let (mut a, mut b) = (vec![vec![0i8; n]; n], vec![vec![0i8; n]; n]);
    for i in 0..n {
        for j in 0..n {
            a[i][j] = g.rand8();
            b[i][j] = g.rand8();
        }
    }
    let bias: Vec<i64> = (0..n).map(|_| i64::from(g.rand8()) * 64).collect();
    let c: Vec<i8> = (0..n)
        .flat_map(|i| {
            let (a, b, bias) = (&a, &b, &bias);
            (0..n).map(move |j| {
                sat8(
                    bias[j]
                        + (0..n)
                            .map(|k| i64::from(a[i][k]) * i64::from(b[k][j]))
                            .sum::<i64>(),
                )
            })
        })
        .collect();
    let r = run("tiled_bias.c", Engine::Rtl);
    assert_eq!(checksum_line(&r), format!("C checksum {:08x}", fnv(c)));
    // The bracketed region: at least the ideal 64^3 / 16^2 cycles, and not absurdly more.
    let cycles: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("cycles ")?.trim().parse().ok())
        .expect("cycles line");
    assert!(
        (1024..40_000).contains(&cycles),
        "tiled 64^3 took {cycles} cycles"
    );
}

#[test]
fn output_and_exit_code_reach_the_host() {
    for engine in [Engine::Rtl, Engine::Spec] {
        let r = run("exit_code.c", engine);
        assert_eq!(r.error, None);
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.stdout, "hello from the hart: 42\n");
        assert_eq!(r.stderr, "to stderr\n");
        assert!(r.instret > 100 && r.cycles >= r.instret);
    }
}

#[test]
fn spike_style_htif_programs_run() {
    let r = run("htif.c", Engine::Rtl);
    assert_eq!(r.error, None);
    assert_eq!(r.exit_code, Some(5));
    assert_eq!(r.stdout, "htif says hi\n");
}

#[test]
fn failures_are_classified() {
    let r = run_with("runaway.c", Engine::Rtl, 200_000);
    let e = r.error.expect("runaway must fail");
    assert_eq!(e.kind, "timeout");
    assert!(
        e.message.contains("--max-cycles") && e.message.contains("200000"),
        "{}",
        e.message
    );
    assert_eq!(r.exit_code, None);

    let r = run("illegal.c", Engine::Rtl);
    let e = r.error.expect("illegal instruction must fail");
    assert_eq!(e.kind, "trap");
    assert!(
        e.message.contains("illegal instruction at pc 0x8"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("0xffffffff") && e.message.contains("ra="),
        "{}",
        e.message
    );
    assert_eq!(r.stdout, "before\n");

    for engine in [Engine::Rtl, Engine::Spec] {
        let r = run("accel_error.c", engine);
        let e = r.error.expect("a 17-row mvin must fail");
        assert_eq!(e.kind, "accelerator");
        assert!(
            e.message.contains("rows or columns") && e.message.contains("mvin"),
            "{}",
            e.message
        );
    }
}

#[test]
fn cli_json_and_exit_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json", "--engine", "spec"])
        .arg(program("exit_code.c"))
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["stdout"], "hello from the hart: 42\n");
    assert_eq!(v["sim"]["engine"], "spec");
    assert!(v["error"].is_null());
    assert!(v["accel"]["sp_rows_used"].is_u64() && v["cycles"].is_u64() && v["instret"].is_u64());

    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json"])
        .arg(program("illegal.c"))
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(125), "a failed simulation is 125");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["error"]["kind"], "trap");

    // A compile error is shown verbatim and is a simulation (setup) failure.
    let dir = std::env::temp_dir().join(format!("gemforge-cosim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.c");
    std::fs::write(&bad, "int main(void) { return undefined_name; }\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .arg("run")
        .arg(&bad)
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("undefined_name") && err.contains("bad.c:1"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's hello-world program runs on the RTL, checks its own result and reports the cycles of the
/// accelerated call.
#[test]
fn the_readme_example_runs_and_checks_its_result() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello_matmul.c");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json"])
        .arg(&example)
        .output()
        .expect("gemforge runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(0), "{v}");
    let stdout = v["stdout"].as_str().expect("stdout");
    assert!(
        stdout.starts_with("64x64x64 matmul on the accelerator: ")
            && stdout.contains("cycles, result checked"),
        "{stdout}"
    );
    // The accelerator read at least both 4 KiB inputs.
    assert!(v["accel"]["rdma_bytes_rec"].as_u64() >= Some(8192), "{v}");
    // The loop FSM issued the mvins, so the hart-side row counts say they are incomplete.
    assert_eq!(v["accel"]["loop_fsm_rows_uncounted"], true, "{v}");
}

/// Exit statuses never wrap (256 is not success), a program's own 2 stays 2, the full code is in the JSON,
/// a file that is neither ELF nor source is refused by name, and a closed stdout ends the run without a
/// panic.
#[test]
fn cli_exit_statuses_bad_files_and_closed_pipes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str], file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_gemforge"))
            .arg("run")
            .args(args)
            .arg(file)
            .output()
            .expect("gemforge runs")
    };
    let e256 = dir.path().join("e256.c");
    std::fs::write(
        &e256,
        "#include <stdlib.h>\nint main(void) { exit(256); }\n",
    )
    .expect("write");
    assert_eq!(run(&["--engine", "spec"], &e256).status.code(), Some(255));
    let out = run(&["--engine", "spec", "--json"], &e256);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["exit_code"], 256);

    let e2 = dir.path().join("e2.c");
    std::fs::write(&e2, "int main(void) { return 2; }\n").expect("write");
    assert_eq!(run(&["--engine", "spec"], &e2).status.code(), Some(2));

    let fake = dir.path().join("prog.elf");
    std::fs::write(&fake, "not an executable\n").expect("write");
    let out = run(&[], &fake);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prog.elf") && err.contains("neither an ELF executable"),
        "{err}"
    );

    // A waveform name that promises another format is refused before anything runs.
    let out = run(&["--trace", "out.vcd"], &e2);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("out.vcd") && err.contains("FST"), "{err}");
    assert!(!std::path::Path::new("out.vcd").exists());

    // stdout closed before the program prints: no panic, no "Broken pipe" error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--engine", "spec"])
        .arg(program("exit_code.c"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gemforge runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("gemforge ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// A configuration that validates also links and runs: the memory sizes at both ends of the accepted range
/// run a program, and the sizes just outside are refused when the file is read, naming the field
/// (before, 1 and 2048 MiB validated but no program linked, and eval blamed the candidate).
#[test]
fn memory_sizes_that_validate_also_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let default = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/default.toml"),
    )
    .expect("default config");
    assert!(
        default.contains("\nsize_mib = "),
        "the default names its memory size"
    );
    for (mib, links) in [(1, false), (2, true), (2047, true), (2048, false)] {
        let text: String = default
            .lines()
            .map(|l| {
                if l.starts_with("size_mib = ") {
                    format!("size_mib = {mib}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let cfg = dir.path().join(format!("mem{mib}.toml"));
        std::fs::write(&cfg, text).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
            .args(["run", "--engine", "spec", "--config"])
            .arg(&cfg)
            .arg(program("exit_code.c"))
            .output()
            .expect("gemforge runs");
        let err = String::from_utf8_lossy(&out.stderr);
        if links {
            assert_eq!(out.status.code(), Some(3), "{mib} MiB: {err}");
        } else {
            assert_eq!(out.status.code(), Some(125), "{mib} MiB: {err}");
            assert!(
                err.contains("memory.size_mib") && err.contains("between 2 and 2047"),
                "{mib} MiB: {err}"
            );
        }
    }
}

/// `run --json` keeps at most --max-output bytes of the program's output and says so: a program writing
/// 65 MiB gets the first 64 MiB (the default), `stdout_truncated`, the count of dropped bytes and a warning
/// naming the flag; with the limit raised it gets everything (before, the output was cut at 64 MiB without
/// a word).
#[test]
fn run_json_output_limit_is_explicit() {
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gemforge"))
            .args(["run", "--json", "--engine", "spec"])
            .args(extra)
            .arg(program("flood.c"))
            .output()
            .expect("gemforge runs")
    };
    let total = 65 * (1usize << 20) + 4;
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["stdout"].as_str().map(str::len), Some(64 << 20));
    assert_eq!(v["stdout_truncated"], true);
    assert_eq!(v["stdout_dropped_bytes"], (total - (64 << 20)) as u64);
    assert_eq!(v["output_limit_bytes"], 64u64 << 20);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("--max-output"),
        "{err}"
    );

    let out = run(&["--max-output", "70M"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = v["stdout"].as_str().expect("stdout");
    assert_eq!((s.len(), s.ends_with("xxend\n")), (total, true));
    assert_eq!(v["stdout_truncated"], false);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&["--max-output", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a byte count"));
}

/// The fields of an FST file's header block (libfst's layout: block type 0, section length, start and end
/// time as big-endian u64, the native-endian double e as an endianness check, ..., timescale exponent at
/// byte 73).
struct FstHeader {
    start: u64,
    end: u64,
    timescale: i8,
}

fn fst_header(path: &std::path::Path) -> FstHeader {
    let b = std::fs::read(path).expect("the waveform exists");
    assert!(b.len() > 74 && b[0] == 0, "not an FST header block");
    let be = |at: usize| u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    assert_eq!(be(1), 329, "FST header section length");
    let e = f64::from_le_bytes(b[25..33].try_into().expect("8 bytes"));
    assert_eq!(
        e,
        std::f64::consts::E,
        "FST endianness check: the layout is not libfst's"
    );
    FstHeader {
        start: be(9),
        end: be(17),
        timescale: b[73] as i8,
    }
}

/// The accelerator's clock is the run's clock: a program that keeps the accelerator idle for ~160,000
/// cycles and then gives it a bad mvin gets an error naming the run's cycle count, and the FST waveform
/// of the run spans exactly the run's cycles at 1 ns per cycle (before, idle cycles were not counted: the
/// message said "seen at cycle 7" and the waveform lasted a few hundred ticks).
#[test]
fn accelerator_errors_and_waveform_time_are_the_runs_cycles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fst = dir.path().join("run.fst");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json", "--trace"])
        .arg(&fst)
        .arg(program("accel_error_after_idle.c"))
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(125));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cycles = v["cycles"].as_u64().expect("cycles");
    assert!(cycles > 100_000, "the hart's loop ran: {v}");
    assert_eq!(v["error"]["kind"], "accelerator");
    let msg = v["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains(&format!("seen at cycle {cycles}")),
        "{msg} (run: {cycles} cycles)"
    );
    let h = fst_header(&fst);
    assert_eq!(h.timescale, -12, "picoseconds");
    assert_eq!(h.start, 0);
    assert_eq!(
        h.end,
        cycles * 1000,
        "the waveform ends at the run's last cycle (1 ns each)"
    );

    // A memory fault found during a cycle names the run's count too.
    let fault = dir.path().join("dma_fault.c");
    std::fs::write(
        &fault,
        "#include \"gemmini.h\"\nint main(void) {\n  volatile int spin = 0;\n  \
         for (int i = 0; i < 1000; i++) spin++;\n  gemmini_config_ld(DIM);\n  \
         gemmini_extended_mvin((void *)0x1000, 0, DIM, DIM);\n  gemmini_fence();\n  return 0;\n}\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json"])
        .arg(&fault)
        .output()
        .expect("gemforge runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("outside main memory") && msg.contains(&format!("at cycle {}", v["cycles"])),
        "{v}"
    );

    // The same on the library API, and the spec engine counts the same way.
    for engine in [Engine::Rtl, Engine::Spec] {
        let r = run("accel_error_after_idle.c", engine);
        let e = r.error.expect("the mvin fails");
        assert_eq!(e.kind, "accelerator");
        if engine == Engine::Rtl {
            assert_eq!(r.cycles, cycles, "deterministic");
        }
    }
}

/// `gemforge run prog.c -- ARGS` passes ARGS to main (argv[0] is the program as named), argv ends with
/// NULL, and without arguments main gets argc 1; `-v` shows the compile command and the phase times.
#[test]
fn main_gets_its_arguments() {
    let prog = program("argv.c");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json", "--engine", "spec"])
        .arg(&prog)
        .args(["--", "first", "two words", "", "-v"])
        .output()
        .expect("gemforge runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(5), "{v}");
    assert_eq!(
        v["stdout"],
        format!(
            "argv[0]={}\nargv[1]=first\nargv[2]=two words\nargv[3]=\nargv[4]=-v\n",
            prog.display()
        )
    );

    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["--verbose", "run", "--engine", "spec"])
        .arg(&prog)
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!("argv[0]={}\n", prog.display()))
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        (err.contains("compile: cache hit") || err.contains("riscv64-unknown-elf-gcc"))
            && err.contains("argc 1")
            && err.contains("phase compile")
            && err.contains("phase simulate"),
        "{err}"
    );
    // More than the runtime's 16 KiB block is refused, naming the limit.
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--engine", "spec"])
        .arg(&prog)
        .arg("--")
        .arg("a".repeat(20_000))
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("16384") && err.contains("__gf_args"), "{err}");
    // -q and -v contradict each other.
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["-q", "-v", "run"])
        .arg(&prog)
        .output()
        .expect("gemforge runs");
    assert_eq!(out.status.code(), Some(2));
}
