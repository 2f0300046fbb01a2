//! RTL variants built on demand (src/sim/accel/variant.rs): non-default configurations agree with the
//! functional model, cycle counts move the way the hardware change says they must, the build cache
//! survives two processes building the same variant at once, and a changed RTL source gives a new key;
//! `rtl build -v` shows the build's commands and phases, or why nothing is built.
//!
//! The variants are small (DIM 4 and 8, small memories) so that each builds in well under a minute. The
//! in-process tests use the user's variant cache (so later runs are instant); the process tests use their
//! own temporary cache directories.

use crate::gen::{loop_conv_stream, loop_ws_stream, random_stream, GenOpts};
use gemforge::bench::eval::{evaluate, EvalOpts};
use gemforge::sim::accel::rtl::RtlAccel;
use gemforge::sim::accel::spec::SpecAccel;
use gemforge::sim::accel::stream::{run_stream, HarnessOpts, StreamCase};
use gemforge::sim::accel::variant::{self, Tools};
use gemforge::sim::accel::Accelerator;
use gemforge::sim::config::{HwConfig, MemoryTiming, DEFAULT_CONFIG_TOML};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The default configuration with `edits` (from, to) applied.
fn edited(name: &str, edits: &[(&str, &str)]) -> HwConfig {
    let mut text = DEFAULT_CONFIG_TOML.replace("name = \"default\"", &format!("name = \"{name}\""));
    for (from, to) in edits {
        assert!(text.contains(from), "edit `{from}` does not apply");
        text = text.replacen(from, to, 1);
    }
    HwConfig::from_toml_str(&text, name).expect("test configuration is valid")
}

/// DIM 4, 16 KiB scratchpad, 8 KiB accumulator, both dataflows.
fn dim4() -> HwConfig {
    edited(
        "test_dim4",
        &[
            ("dim = 16 ", "dim = 4 "),
            ("capacity_kib = 256 ", "capacity_kib = 16 "),
            ("capacity_kib = 64 ", "capacity_kib = 8 "),
        ],
    )
}

/// DIM 8, 32 KiB scratchpad in 2 banks, 16 KiB accumulator, weight-stationary only, smaller queues.
fn dim8_ws() -> HwConfig {
    edited(
        "test_dim8_ws",
        &[
            ("dim = 16 ", "dim = 8 "),
            ("dataflows = \"both\"", "dataflows = \"ws\""),
            ("capacity_kib = 256 ", "capacity_kib = 32 "),
            ("banks = 4 ", "banks = 2 "),
            ("capacity_kib = 64 ", "capacity_kib = 16 "),
            ("ld = 8", "ld = 4"),
            ("ex = 16", "ex = 8"),
        ],
    )
}

fn candidates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/candidates")
}

/// Random legal streams on a variant: the RTL ends in exactly the functional model's state.
fn differential(cfg: &HwConfig, cases: u64, base: u64, opts: &GenOpts) {
    differential_with(cfg, cases, base, &|cfg, seed| {
        random_stream(cfg, seed, opts)
    });
}

/// The same for streams from any generator.
fn differential_with(
    cfg: &HwConfig,
    cases: u64,
    base: u64,
    generate: &dyn Fn(&HwConfig, u64) -> StreamCase,
) {
    let t = Instant::now();
    let hopts = HarnessOpts {
        watchdog_cycles: 20_000,
        max_cycles: 5_000_000,
    };
    let mut failed = Vec::new();
    for seed in base..base + cases {
        let mut cfg = cfg.clone();
        cfg.memory = MemoryTiming {
            latency: [40, 1, 7, 100][(seed % 4) as usize],
            max_in_flight: [32, 1, 4][(seed % 3) as usize],
            ..MemoryTiming::default()
        };
        let case: StreamCase = generate(&cfg, seed);
        let run = |acc: &mut dyn Accelerator| {
            let mut mem = case.mem.clone();
            let r = run_stream(acc, &mut mem, &case.cmds, &hopts);
            let sp: Vec<Vec<i32>> = (0..cfg.sp_rows()).map(|r| acc.read_sp_row(r)).collect();
            let ac: Vec<Vec<i32>> = (0..cfg.acc_rows()).map(|r| acc.read_acc_row(r)).collect();
            (r.map(|r| r.responses.len()), mem, sp, ac)
        };
        let (s_resp, s_mem, s_sp, s_acc) = run(&mut SpecAccel::new(&cfg));
        let mut rtl = RtlAccel::new(&cfg).expect("RTL variant");
        let (r_resp, r_mem, r_sp, r_acc) = run(&mut rtl);
        let s_resp = s_resp.expect("the functional model accepts every generated stream");
        let what = match r_resp {
            Err(e) => Some(format!("RTL failed: {e}")),
            Ok(n) if n != s_resp => Some(format!("responses: spec {s_resp} rtl {n}")),
            Ok(_) => s_mem
                .first_difference(&r_mem)
                .map(|(a, x, y)| format!("memory at 0x{a:x}: spec {x} rtl {y}"))
                .or_else(|| {
                    (0..s_sp.len()).find(|&i| s_sp[i] != r_sp[i]).map(|i| {
                        format!("scratchpad row {i}: spec {:?} rtl {:?}", s_sp[i], r_sp[i])
                    })
                })
                .or_else(|| {
                    (0..s_acc.len()).find(|&i| s_acc[i] != r_acc[i]).map(|i| {
                        format!(
                            "accumulator row {i}: spec {:?} rtl {:?}",
                            s_acc[i], r_acc[i]
                        )
                    })
                }),
        };
        if let Some(w) = what {
            failed.push(format!("seed {seed}: {w}"));
        }
    }
    eprintln!(
        "{}: {cases} random streams in {:.1} s",
        cfg.name,
        t.elapsed().as_secs_f64()
    );
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn dim4_variant_matches_the_functional_model() {
    differential(&dim4(), 150, 9_000, &GenOpts::mixed());
    differential(&dim4(), 100, 9_500, &GenOpts::tight());
}

/// The fp32 4x4 example configuration (binary32 fused multiply-adds, accumulator adds, scalers, pooling
/// comparisons): bit-identical to the functional model, NaNs, infinities and subnormals included, on random
/// command streams and on LOOP_WS / LOOP_CONV_WS streams.
#[test]
fn fp32_variant_matches_the_functional_model() {
    let cfg = HwConfig::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/fp32_4x4.toml"),
    )
    .expect("the example configuration is valid");
    differential(&cfg, 120, 11_000, &GenOpts::mixed());
    differential(&cfg, 60, 11_500, &GenOpts::tight());
    differential_with(&cfg, 60, 12_000, &|c, seed| loop_ws_stream(c, seed));
    differential_with(&cfg, 60, 12_500, &|c, seed| loop_conv_stream(c, seed));
}

#[test]
fn dim8_ws_variant_matches_the_functional_model() {
    differential(&dim8_ws(), 100, 10_000, &GenOpts::mixed());
}

/// A WS-only array refuses a config_ex selecting OS (Gemmini would silently run WS) in both engines.
#[test]
fn ws_only_variant_refuses_output_stationary() {
    use gemforge::sim::accel::ErrorKind;
    use gemforge::sim::isa::{Command as Cmd, ConfigEx, DATAFLOW_OS};
    let cfg = dim8_ws();
    let os = ConfigEx {
        dataflow: DATAFLOW_OS,
        ..ConfigEx::default()
    };
    let cmds = vec![Cmd::ConfigEx(os).encode()];
    let hopts = HarnessOpts {
        watchdog_cycles: 20_000,
        max_cycles: 100_000,
    };
    let mut spec = SpecAccel::new(&cfg);
    let mut rtl = RtlAccel::new(&cfg).expect("RTL variant");
    for acc in [&mut spec as &mut dyn Accelerator, &mut rtl] {
        let mut mem = gemforge::sim::mem::Memory::new(0x8000_0000, 1 << 20);
        let e = run_stream(acc, &mut mem, &cmds, &hopts).expect_err("OS must be refused");
        assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    }
}

fn cycles(cfg: &HwConfig, workload: &str, candidate: &str) -> u64 {
    let w = gemforge::bench::workload::by_name(workload).expect("workload");
    let opts = EvalOpts {
        screen_runs: 1,
        seed: Some(5),
        ..EvalOpts::default()
    };
    let v = evaluate(cfg, &w, &candidates().join(candidate), &opts);
    assert!(
        v.correct,
        "{candidate} on {}: {:?} {}",
        cfg.name, v.failure, v.detail
    );
    v.cycles.expect("RTL cycles")
}

#[test]
fn same_program_on_two_variants_and_cycles_move_as_expected() {
    let (c4, c8) = (dim4(), dim8_ws());
    let n4 = cycles(&c4, "gemm_20x36x24", "gemm_tiled.c");
    let n8 = cycles(&c8, "gemm_20x36x24", "gemm_tiled.c");
    assert!(
        n4 > n8,
        "DIM 4 ({n4} cycles) must be slower than DIM 8 ({n8})"
    );
    // The tiled GEMM waits on every mvin: more memory latency can never make it faster.
    let mut prev = 0;
    for latency in [1, 40, 200] {
        let mut c = c4.clone();
        c.memory.latency = latency;
        let n = cycles(&c, "gemm_20x36x24", "gemm_tiled.c");
        assert!(
            n >= prev,
            "latency {latency}: {n} cycles, fewer than {prev} at a lower latency"
        );
        prev = n;
    }
    let mut slow = c4.clone();
    slow.memory.bytes_per_cycle = 1;
    let n_slow = cycles(&slow, "gemm_20x36x24", "gemm_tiled.c");
    assert!(
        n_slow > n4,
        "1 byte/cycle ({n_slow}) must be slower than 16 ({n4})"
    );
}

#[test]
fn variants_cannot_record_waveforms() {
    let dir = std::env::temp_dir().join(format!("gf-var-trace-{}", std::process::id()));
    let e = match RtlAccel::new_traced(&dim4(), &dir.join("w.fst")) {
        Ok(_) => panic!("tracing a variant must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("--trace") && e.contains("test_dim4"), "{e}");
}

fn gemforge(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gemforge"));
    c.env("GEMFORGE_CACHE_DIR", cache);
    c
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "gemforge failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn concurrent_builds_share_one_result_and_a_changed_source_rebuilds() {
    let tmp = std::env::temp_dir().join(format!("gf-var-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let cfg_path = tmp.join("small.toml");
    let text = DEFAULT_CONFIG_TOML
        .replace("name = \"default\"", "name = \"small\"")
        .replacen("dim = 16 ", "dim = 4 ", 1)
        .replacen("capacity_kib = 256 ", "capacity_kib = 16 ", 1)
        .replacen("capacity_kib = 64 ", "capacity_kib = 8 ", 1)
        .replacen("st = 4", "st = 2", 1);
    std::fs::write(&cfg_path, text).unwrap();
    let cache = tmp.join("cache");

    // Two processes build the same variant at once: both succeed, one builds, the other uses its result.
    let spawn = || {
        gemforge(&cache)
            .args(["rtl", "build", "--json"])
            .arg(&cfg_path)
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    let (a, b) = (json_of(&a), json_of(&b));
    let built: Vec<bool> = [&a, &b]
        .iter()
        .map(|v| v[0]["built"].as_bool().unwrap())
        .collect();
    assert_eq!(built.iter().filter(|&&x| x).count(), 1, "{a} {b}");
    assert_eq!(a[0]["library"], b[0]["library"]);
    let list = json_of(
        &gemforge(&cache)
            .args(["rtl", "list", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let leftovers = std::fs::read_dir(cache.join("rtl/tmp")).map_or(0, |d| d.count());
    assert_eq!(leftovers, 0, "build directories left behind");
    // The variant runs a program.
    let prog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/matmul_ws.c");
    let out = gemforge(&cache)
        .args(["run", "--json", "--config"])
        .arg(&cfg_path)
        .arg(&prog)
        .output()
        .unwrap();
    let run = json_of(&out);
    assert_eq!(run["exit_code"], 0, "{run}");

    // A changed RTL file (a copy of the sources with one comment added) gives a new key and a new build.
    let srcs = tmp.join("srcs");
    for (p, bytes) in variant::sources().unwrap() {
        let dest = srcs.join(&p);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let mut bytes = bytes.clone();
        if p == "rtl/gemmini_mesh.sv" {
            bytes.extend_from_slice(b"\n// edited\n");
        }
        std::fs::write(&dest, bytes).unwrap();
    }
    let tools = Tools::find().unwrap();
    let cfg = HwConfig::from_file(&cfg_path).unwrap();
    let embedded = variant::sources().unwrap();
    let changed = variant::sources_from_dir(&srcs).unwrap();
    assert_eq!(embedded.len(), changed.len());
    assert_ne!(
        variant::variant_key(&cfg, &embedded, &tools),
        variant::variant_key(&cfg, &changed, &tools)
    );
    // Built with -v: the Verilator and link command lines and each phase's time, on stderr only.
    let again_out = gemforge(&cache)
        .env(variant::SOURCES_ENV, &srcs)
        .args(["-v", "rtl", "build", "--json"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    let again = json_of(&again_out);
    assert_eq!(again[0]["built"], true, "{again}");
    let log = String::from_utf8_lossy(&again_out.stderr);
    for needle in [
        "gemforge: rtl `small`: verilate: ",
        "--top-module",
        "gemforge: rtl `small`: phase write sources ",
        "gemforge: rtl `small`: phase verilate ",
        "gemforge: rtl `small`: compile: ",
        "gemforge: rtl `small`: phase compile ",
        "gemforge: rtl `small`: link: ",
        "-Wl,-Bsymbolic",
        "gemforge: rtl `small`: phase link ",
        "gemforge: rtl `small`: published ",
    ] {
        assert!(log.contains(needle), "no {needle:?} in:\n{log}");
    }
    // Once cached, -v says so and stdout is byte for byte what it is without -v.
    let cached = |verbose: bool| {
        let mut c = gemforge(&cache);
        c.env(variant::SOURCES_ENV, &srcs);
        if verbose {
            c.arg("-v");
        }
        c.args(["rtl", "build", "--json"])
            .arg(&cfg_path)
            .output()
            .unwrap()
    };
    let (plain, verbose) = (cached(false), cached(true));
    assert_eq!(plain.stdout, verbose.stdout);
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("gemforge: rtl"));
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains("gemforge: rtl `small`: cached variant "),
        "{log}"
    );
    let list = json_of(
        &gemforge(&cache)
            .args(["rtl", "list", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let cleaned = json_of(
        &gemforge(&cache)
            .args(["rtl", "clean", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(cleaned["removed"], 2);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `rtl build` of a configuration whose RTL is the linked model builds nothing; -v says so on stderr and
/// stdout is unchanged.
#[test]
fn rtl_build_verbose_names_the_linked_model() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/default.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gemforge"))
            .args(args)
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let plain = run(&["rtl", "build"]);
    let verbose = run(&["rtl", "build", "--verbose"]);
    assert!(plain.status.success() && verbose.status.success());
    assert_eq!(plain.stdout, verbose.stdout);
    assert!(
        plain.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains("gemforge: rtl `default` (")
            && log.contains("linked into this binary, nothing to build"),
        "{log}"
    );
}

#[test]
fn invalid_configurations_are_named() {
    for (from, to, field) in [
        ("dim = 16 ", "dim = 2 ", "array.dim"),
        ("dim = 16 ", "dim = 12 ", "array.dim"),
        ("dim = 16 ", "dim = 128 ", "array.dim"),
        (
            "input_type = \"int8\"",
            "input_type = \"fp32\"",
            "array.acc_type",
        ),
        (
            "acc_type = \"int32\"",
            "acc_type = \"fp32\"",
            "array.acc_type",
        ),
        (
            "capacity_kib = 256 ",
            "capacity_kib = 300 ",
            "scratchpad.capacity_kib",
        ),
        ("banks = 4 ", "banks = 3 ", "scratchpad.banks"),
        ("ex = 16", "ex = 0", "reservation_station.ex"),
        ("beat_bytes = 16", "beat_bytes = 12", "dma.beat_bytes"),
        (
            "max_reads_in_flight = 16",
            "max_reads_in_flight = 0",
            "dma.max_reads_in_flight",
        ),
        ("latency = 40", "latency = 0", "memory.latency"),
        ("dataflows = \"both\"", "dataflows = \"os\"", "dataflows"),
    ] {
        let text = DEFAULT_CONFIG_TOML.replacen(from, to, 1);
        assert_ne!(text, DEFAULT_CONFIG_TOML, "{from}");
        let e = HwConfig::from_toml_str(&text, "bad.toml")
            .err()
            .unwrap_or_else(|| panic!("{to} must be refused"))
            .to_string();
        assert!(e.contains("bad.toml") && e.contains(field), "{to}: {e}");
    }
}

/// Random streams on any configuration file, for checking a new configuration by hand:
/// `GEMFORGE_VARIANT_CONFIG=rtl/configs/large_32x32.toml cargo test --release --test sim differential_on_a_configuration_file -- --ignored`
/// (`GEMFORGE_DIFF_CASES` sets the number of streams; default 100).
#[test]
#[ignore = "needs GEMFORGE_VARIANT_CONFIG; builds the variant if it is not cached"]
fn differential_on_a_configuration_file() {
    let path = std::env::var("GEMFORGE_VARIANT_CONFIG").expect("set GEMFORGE_VARIANT_CONFIG");
    let cfg = HwConfig::from_file(Path::new(&path)).expect("valid configuration");
    let cases = std::env::var("GEMFORGE_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    differential(&cfg, cases, 20_000, &GenOpts::mixed());
    differential(&cfg, cases / 2, 30_000, &GenOpts::tight());
}

#[test]
fn sweep_reports_every_cell_and_programs_that_do_not_fit() {
    let tmp = std::env::temp_dir().join(format!("gf-var-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    // The DIM 4 configuration of the in-process tests (same RTL, so the same cached variant).
    let small = tmp.join("small4.toml");
    let text = DEFAULT_CONFIG_TOML
        .replace("name = \"default\"", "name = \"small4\"")
        .replacen("dim = 16 ", "dim = 4 ", 1)
        .replacen("capacity_kib = 256 ", "capacity_kib = 16 ", 1)
        .replacen("capacity_kib = 64 ", "capacity_kib = 8 ", 1);
    std::fs::write(&small, text).unwrap();
    // A candidate that hard-codes 16x16 tiles: fine on DIM 16, refused by a DIM 4 array.
    let tiled = std::fs::read_to_string(candidates().join("gemm_tiled.c")).unwrap();
    let fixed = tmp.join("fixed16.c");
    std::fs::write(&fixed, tiled.replace("DIM", "16")).unwrap();
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/default.toml");
    let out_dir = tmp.join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["sweep", "--json", "--configs"])
        .arg(&default)
        .arg(&small)
        .args(["--workloads", "gemm_20x36x24", "--program"])
        .arg(candidates().join("gemm_tiled.c"))
        .arg(&fixed)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let v = json_of(&out);
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "{v}");
    let cell = |config: &str, program: &str| {
        cells
            .iter()
            .find(|c| c["config"] == config && c["program"] == program)
            .unwrap_or_else(|| panic!("no cell {config} {program}: {v}"))
    };
    assert_eq!(cell("default", "gemm_tiled.c")["speedup"], 1.0);
    let s = cell("small4", "gemm_tiled.c");
    assert_eq!(s["status"], "ok", "{s}");
    assert!(s["speedup"].as_f64().unwrap() < 1.0, "{s}");
    assert_eq!(cell("default", "fixed16.c")["status"], "ok");
    let f = cell("small4", "fixed16.c");
    assert_eq!(f["status"], "does_not_fit", "{f}");
    assert!(f["cycles"].is_null() && f["speedup"].is_null(), "{f}");
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let svg = std::fs::read_to_string(out_dir.join("sweep.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("small4"));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A C program on the fp32 4x4 configuration, under both engines: WS with a bias and two accumulated K
/// tiles, the ReLU * 0.5 read-out, and OS with in_shift 1. The host recomputes every output bit in the
/// array's order of fused multiply-adds from the inputs the program prints.
#[test]
fn fp32_program_runs_on_both_engines_with_exact_results() {
    use gemforge::sim::accel::arith::{fp32_add, fp32_fma, fp32_mul, fp32_relu};
    use gemforge::sim::soc::{run_files, Engine, RunInputs, SocOpts};
    let cfg = HwConfig::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/fp32_4x4.toml"),
    )
    .expect("the example configuration is valid");
    let dim = cfg.dim() as usize;
    let inputs = RunInputs {
        programs: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/fp32_matmul.c")],
        ..RunInputs::default()
    };
    let mut outputs = Vec::new();
    for engine in [Engine::Spec, Engine::Rtl] {
        let opts = SocOpts {
            engine,
            max_cycles: 50_000_000,
            ..SocOpts::default()
        };
        let r = run_files(&cfg, &inputs, &opts).expect("the program runs");
        assert!(
            r.error.is_none() && r.exit_code == Some(0),
            "{engine:?}: {r:?}"
        );
        // name -> rows of bit patterns
        let mut m: std::collections::BTreeMap<String, Vec<Vec<u32>>> = Default::default();
        for line in r.stdout.lines() {
            let mut it = line.split_whitespace();
            let (Some(name), Some(_row)) = (it.next(), it.next()) else {
                continue;
            };
            let row: Vec<u32> = it
                .map(|h| u32::from_str_radix(h, 16).expect("hex word"))
                .collect();
            m.entry(name.to_string()).or_default().push(row);
        }
        outputs.push(m);
    }
    assert_eq!(outputs[0], outputs[1], "the engines disagree");
    let m = &outputs[1];
    let (a, b, d) = (&m["A"], &m["B"], &m["D"]);
    let k = 2 * dim;
    assert_eq!((a.len(), a[0].len(), b.len(), d.len()), (dim, k, k, dim));
    let one_half = 0x3f00_0000;
    for i in 0..dim {
        for j in 0..dim {
            // WS: acc = D; each K tile's column sum starts at +0 and passes the PE rows in order.
            let mut acc = d[i][j];
            let mut os = 0u32;
            for t in 0..2 {
                let mut s = 0u32;
                for kk in t * dim..(t + 1) * dim {
                    s = fp32_fma(a[i][kk], b[kk][j], s);
                    os = fp32_fma(a[i][kk], b[kk][j], os);
                }
                acc = fp32_add(acc, s);
            }
            assert_eq!(m["WS"][i][j], acc, "WS ({i}, {j})");
            assert_eq!(
                m["RELU"][i][j],
                fp32_mul(fp32_relu(acc), one_half),
                "ReLU * 0.5 ({i}, {j})"
            );
            assert_eq!(m["OS"][i][j], fp32_mul(os, one_half), "OS ({i}, {j})");
        }
    }
    // The data makes the results non-trivial: some negative values (ReLU had work to do), and the
    // K-tile sums round (the WS and OS orders give different bits somewhere).
    assert!(m["WS"].iter().flatten().any(|&x| x >> 31 == 1));
    assert!((0..dim).any(|i| (0..dim).any(|j| fp32_mul(m["WS"][i][j], one_half) != m["OS"][i][j])));
}
