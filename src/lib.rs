//! gemforge: cycle-accurate co-simulation, benchmarking and optimization of Gemmini-compatible tensor
//! accelerators. See docs/accelerator.md for the accelerator's contract.
//!
//! The crate has three parts and a command line, and dependencies point one way
//! (cli -> opt -> bench -> sim):
//! - [`sim`]: the co-simulator: the ISA, hardware configurations, the RISC-V hart, memory timing, the
//!   accelerator's two engines (functional model and Verilated RTL), the SoC loop and the C toolchain;
//! - [`bench`]: the benchmark suite: workloads, schedules, the correctness protocol (eval), its verdict
//!   cache, baselines, the baseline ladder, sweeps across configurations and simulator speed;
//! - [`opt`]: the optimizer: beam search, proposers (built-in and LLM), prompts, LLM providers and reports;
//! - [`store`]: below all parts: the cache directory, content hashes, atomic writes, directory publishing
//!   and build locks that every cache uses;
//! - [`term`]: below all parts too: the `-v` logger and the progress bars its lines print above;
//! - [`cli`]: one module per subcommand, owning its arguments and its text and JSON output; the
//!   `gemforge` binary (src/main.rs) only parses and dispatches.

pub mod bench;
pub mod cli;
pub mod opt;
pub mod sim;
pub mod store;
pub mod term;

/// The dependency rule, checked on the source text: a part may name only itself and the parts below it.
#[cfg(test)]
mod layering {
    use std::path::Path;

    /// The parts from the bottom up; each may use the ones before it.
    const ORDER: [&str; 6] = ["store", "term", "sim", "bench", "opt", "cli"];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("reading src/") {
            let p = e.expect("reading src/").path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every `crate::PART` named in the files of `part` that is above it.
    fn upward_uses(src: &Path, part: &str) -> Vec<String> {
        let level = ORDER.iter().position(|p| *p == part).expect("known part");
        let mut files = Vec::new();
        let file = src.join(format!("{part}.rs"));
        if file.is_file() {
            files.push(file);
        } else {
            rust_files(&src.join(part), &mut files);
        }
        let mut found = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("reading a source file");
            for (n, line) in text.lines().enumerate() {
                for higher in &ORDER[level + 1..] {
                    if line.contains(&format!("crate::{higher}::"))
                        || line.contains(&format!("crate::{higher};"))
                    {
                        found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn lower_parts_never_import_higher_ones() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut bad = Vec::new();
        for part in ORDER {
            bad.extend(upward_uses(&src, part));
        }
        assert!(
            bad.is_empty(),
            "dependencies must point down (cli -> opt -> bench -> sim):\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn the_check_sees_an_upward_import() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("sim/accel")).expect("mkdir");
        std::fs::write(
            dir.path().join("sim/accel/x.rs"),
            "use crate::opt::search::Beam;\n",
        )
        .expect("write");
        let found = upward_uses(dir.path(), "sim");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("x.rs:1"), "{found:?}");
    }
}
