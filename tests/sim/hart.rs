//! End-to-end tests of the RV64GC hart on whole programs:
//!
//! - a program built the way gemmini-rocc-tests' Makefile builds its bare-metal tests (its own start-up
//!   code, link script and HTIF syscalls, no C library, `-march=rv64gc -mabi=lp64d`), from the sources
//!   in tests/programs/htif/ written for this test, run unchanged as an ELF file: its printf goes through
//!   the HTIF syscall proxy, its exit code through `tohost`, and it checks hard-float arithmetic, rounding
//!   modes, atomics, a misaligned load and compressed code;
//! - `gemforge run FILE.c` compiling for rv64gc/lp64d by default and for another `--march`/`--mabi`.

use gemforge::sim::config::HwConfig;
use gemforge::sim::soc::{run_files, Engine, RunInputs, RunReport, SocOpts};
use std::path::{Path, PathBuf};
use std::process::Command;

fn htif_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/htif")
}

/// Build the HTIF program with riscv64-unknown-elf-gcc as gemmini-rocc-tests would (their CFLAGS and
/// LDFLAGS, with -ffreestanding standing in for the newlib headers they compile against).
fn build_htif_program(out: &Path, defines: &[&str]) {
    let d = htif_dir();
    let status = Command::new("riscv64-unknown-elf-gcc")
        .args([
            "-march=rv64gc",
            "-mabi=lp64d",
            "-mcmodel=medany",
            "-std=gnu99",
            "-O2",
            "-ffreestanding",
            "-fno-common",
            "-fno-math-errno",
            "-fno-builtin-printf",
            "-static",
            "-nostdlib",
            "-nostartfiles",
            "-Wl,--no-warn-rwx-segments",
        ])
        .args(defines)
        .arg("-T")
        .arg(d.join("test.ld"))
        .arg(d.join("crt.S"))
        .arg(d.join("syscalls.c"))
        .arg(d.join("main.c"))
        .arg("-lgcc")
        .arg("-o")
        .arg(out)
        .status()
        .expect("riscv64-unknown-elf-gcc (scripts/setup.sh)");
    assert!(status.success(), "building the HTIF test program failed");
}

fn run(inputs: RunInputs) -> RunReport {
    let opts = SocOpts {
        engine: Engine::Spec,
        max_cycles: 50_000_000,
        ..SocOpts::default()
    };
    run_files(&HwConfig::default_config(), &inputs, &opts).unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn gemmini_rocc_tests_style_rv64gc_program_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("htif.elf");
    build_htif_program(&elf, &[]);
    let bytes = std::fs::read(&elf).unwrap();
    // EF_RISCV_RVC and EF_RISCV_FLOAT_ABI_DOUBLE: compressed code, hard-float double ABI.
    let e_flags = u32::from_le_bytes(bytes[48..52].try_into().unwrap());
    assert_eq!(e_flags & 0x7, 0x5, "e_flags 0x{e_flags:x}");
    let r = run(RunInputs {
        programs: vec![elf.clone()],
        ..RunInputs::default()
    });
    assert_eq!(r.error, None);
    for line in [
        "basel*1e6: 1644434 ok",
        "fma*1000: -375 ok",
        "sqrt2*1e6: 1414213 ok",
        "div*1e6: 333333 ok",
        "cvt: -2 ok",
        "rup-rdn ulps: 1 ok",
        "NX raised: 1 ok",
        "amoadd: 30 ok",
        "cas: 107 ok",
        "fetch_or old: 0 ok",
        "amoor: 256 ok",
        "misaligned: 1284 ok",
        "0 failures",
    ] {
        assert!(
            r.stdout.contains(line),
            "missing {line:?} in:\n{}",
            r.stdout
        );
    }
    assert_eq!(r.exit_code, Some(0), "{}", r.stdout);
    // The exit code comes through tohost = (code << 1) | 1.
    let elf7 = dir.path().join("htif7.elf");
    build_htif_program(&elf7, &["-DEXPECT_EXIT=7"]);
    let r = run(RunInputs {
        programs: vec![elf7],
        ..RunInputs::default()
    });
    assert_eq!((r.exit_code, r.error), (Some(7), None));
    // --march/--mabi only apply to C sources.
    let err = run_files(
        &HwConfig::default_config(),
        &RunInputs {
            programs: vec![elf.clone()],
            march: Some("rv64im".into()),
            ..RunInputs::default()
        },
        &SocOpts::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--march"), "{err}");
    // Linked without gemforge's runtime, it has no argument block: arguments are refused, naming why.
    let err = run_files(
        &HwConfig::default_config(),
        &RunInputs {
            programs: vec![elf],
            args: vec!["x".into()],
            ..RunInputs::default()
        },
        &SocOpts::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("__gf_args") && err.contains("runtime"),
        "{err}"
    );
}

const FLOAT_C: &str = r#"#include <stdio.h>
volatile double x = 2.0;
volatile float y = 0.1f;
int main(void) {
    double r = __builtin_sqrt(x);
    float s = y * 3.0f + 1.0f;
    printf("%.6f %.5f\n", r, (double)s);
    return 0;
}
"#;

#[test]
fn run_c_compiles_for_rv64gc_by_default_and_for_a_chosen_arch() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("float.c");
    std::fs::write(&src, FLOAT_C).unwrap();
    let gc = run(RunInputs {
        programs: vec![src.clone()],
        ..RunInputs::default()
    });
    assert_eq!((gc.exit_code, &gc.error), (Some(0), &None));
    assert_eq!(gc.stdout, "1.414214 1.30000\n");
    // Soft-float rv64imac: the same output, with many more instructions (no FPU).
    let soft = run(RunInputs {
        programs: vec![src],
        march: Some("rv64imac".into()),
        mabi: Some("lp64".into()),
        ..RunInputs::default()
    });
    assert_eq!((soft.exit_code, &soft.error), (Some(0), &None));
    assert_eq!(soft.stdout, gc.stdout);
    assert!(
        soft.instret > gc.instret,
        "soft-float {} vs hard-float {} instructions",
        soft.instret,
        gc.instret
    );
}
