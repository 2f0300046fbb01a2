//! The whole-network program `examples/resnet50.c` (issue 12 item 5): ResNet-50's 54 layers, residual adds,
//! global average pool and classifier in resnet50.c's order, with its in-program self-check. CI runs a
//! reduced network (32x32 images, batch 1, a quarter of the widths: the same layers and library calls)
//! with every output element checked, on both engines, which must agree on the logits; the whole network
//! (batch 4, 224x224) takes minutes on the RTL and is `#[ignore]`d (run it with `--ignored`).

use std::path::Path;
use std::process::Command;

const REDUCED: [&str; 8] = [
    "-D",
    "RESNET_IMG=32",
    "-D",
    "RESNET_BATCH=1",
    "-D",
    "RESNET_WIDTH_DIV=4",
    "-D",
    "RESNET_CHECK=0",
];

/// Runs the example with `args` and returns (exit code, the program's stdout).
fn run(args: &[&str]) -> (Option<i32>, String) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/resnet50.c");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["run", "--json"])
        .args(args)
        .arg(&example)
        .output()
        .expect("gemforge runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "gemforge run --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let stdout = v["stdout"].as_str().expect("stdout").to_string();
    (out.status.code(), stdout)
}

fn line_with<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with `{prefix}`:\n{stdout}"))
}

/// Every layer ran and was checked element by element on both engines, and both computed the same logits.
#[test]
fn reduced_network_passes_its_full_self_check_on_both_engines() {
    let mut sums = Vec::new();
    for engine in ["rtl", "spec"] {
        let mut args = vec!["--engine", engine];
        args.extend(REDUCED);
        let (code, stdout) = run(&args);
        assert_eq!(code, Some(0), "{engine}:\n{stdout}");
        assert!(stdout.trim_end().ends_with("PASS"), "{engine}:\n{stdout}");
        // 53 convolutions and the classifier, 16 residual adds, the global average pool
        let layers = stdout
            .lines()
            .filter(|l| l.ends_with(" cycles") && !l.starts_with("layer "))
            .count();
        assert_eq!(layers, 54 + 16 + 1, "{engine}:\n{stdout}");
        for name in [
            "conv_1 ",
            "conv_15 ",
            "conv_53 ",
            "resadd_16 ",
            "avg_pool ",
            "fc_54 ",
        ] {
            line_with(&stdout, name);
        }
        let check = line_with(&stdout, "self-check: ");
        assert!(check.ends_with(" 0 mismatches"), "{check}");
        let total: u64 = line_with(&stdout, "Total cycles: ")
            .trim_start_matches("Total cycles: ")
            .parse()
            .expect("a cycle count");
        assert!(total > 0, "{stdout}");
        sums.push(line_with(&stdout, "logits checksum ").to_string());
    }
    assert_eq!(sums[0], sums[1], "the engines disagree on the logits");
}

/// The self-check is not vacuous: one flipped output element of one layer fails the run.
#[test]
fn the_self_check_catches_a_corrupted_layer() {
    let mut args = vec!["--engine", "spec", "-D", "RESNET_FAULT=20"];
    args.extend(REDUCED);
    let (code, stdout) = run(&args);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("MISMATCH in ") && stdout.trim_end().ends_with("FAIL"),
        "{stdout}"
    );
    assert!(
        line_with(&stdout, "self-check: ").ends_with(" 1 mismatches"),
        "{stdout}"
    );
}

/// The whole network at batch 4 on 224x224 images, cycle-accurate (minutes; see README's measurements).
#[test]
#[ignore]
fn whole_network_on_the_rtl() {
    let (code, stdout) = run(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.trim_end().ends_with("PASS"), "{stdout}");
    assert!(line_with(&stdout, "self-check: ").ends_with(" 0 mismatches"));
}
