//! Build script: Verilates rtl/ for the bundled default configuration, compiles the generated C++ together
//! with the C ABI shim (sim/verilator/), links the result statically, and generates Rust bindings for the
//! shim (src/sim/accel/rtl.rs includes them).
//!
//! Two models are built from the same RTL: `Vgemmini` (untraced, used by every normal run) and
//! `VgemminiTr` (--trace-fst, used only for waveform runs), so tracing costs untraced runs nothing. The
//! shim is compiled once per model; its functions carry the suffix `_tr` for the traced one.
//!
//! Verilating and compiling live in src/sim/vbuild.rs, shared with the run-time builder of other
//! configurations (src/sim/accel/variant.rs); this script compiles in parallel (NUM_JOBS) with a
//! content-addressed object cache in OUT_DIR, and embeds the RTL and shim sources for that builder.

#[path = "src/sim/config.rs"]
#[allow(dead_code)]
mod config;
#[path = "src/sim/isa.rs"]
#[allow(dead_code)]
mod isa;
#[path = "src/sim/vbuild.rs"]
#[allow(dead_code)]
mod vbuild;

use anyhow::{anyhow, Context, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vbuild::{ModelSpec, ObjCache, Verilator, SETUP_HINT};

/// Overrides the untraced model's per-cycle optimization (e.g. `-O1`, `-O3`) for measuring. The largest
/// generated file dominates a cold build: for the first full RTL it took 14.4 s at -O2 and 8.2 s at -O1
/// (and 27 s vs 1.9 s for a synthetic 256-PE mesh), so measure speed and build time before changing it.
const OPT_ENV: &str = "GEMFORGE_VERILATED_OPT";

/// The two models: untraced, and FST-traced for waveform runs. Recording runs are several times slower
/// anyway (first full RTL: ~150k vs ~680k cycles/s), so the traced model is optimized less, which
/// shortens a cold build (its largest file: 7.9 s instead of 15.7 s) at ~20% of speed when it runs
/// without recording.
fn models() -> [ModelSpec; 2] {
    let plain_opt = match std::env::var(OPT_ENV) {
        Ok(o) if o.starts_with("-O") => o,
        _ => "-O2".to_string(),
    };
    [
        ModelSpec {
            prefix: "Vgemmini".into(),
            traced: false,
            suffix: String::new(),
            opt_fast: plain_opt,
        },
        ModelSpec {
            prefix: "VgemminiTr".into(),
            traced: true,
            suffix: "_tr".into(),
            opt_fast: "-O1".into(),
        },
    ]
}

fn main() -> Result<()> {
    let t0 = Instant::now();
    let root = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env("OUT_DIR")?);
    for p in [
        "rtl",
        "rtl/configs/default.toml",
        "sim/verilator",
        "build.rs",
        "src/sim/config.rs",
        "src/sim/isa.rs",
        "src/sim/vbuild.rs",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    for v in [
        "VERILATOR",
        "VERILATOR_ROOT",
        "CXX",
        "CXXFLAGS",
        "AR",
        OPT_ENV,
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let jobs: usize = std::env::var("NUM_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .filter(|&j| j > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    // ---- configuration package ----
    let cfg_path = root.join("rtl/configs/default.toml");
    let cfg = config::HwConfig::from_file(&cfg_path)
        .with_context(|| format!("reading {}", cfg_path.display()))?;
    let cfg_pkg = out.join("gemmini_cfg_pkg.sv");
    write_if_changed(&cfg_pkg, cfg.sv_config_package().as_bytes())?;
    let isa_pkg = out.join("gemmini_isa_pkg.sv");
    write_if_changed(&isa_pkg, isa::sv_isa_package().as_bytes())?;

    // ---- Verilate ----
    let verilator = Verilator::find()?;
    if let Some(w) = &verilator.version_warning {
        println!("cargo:warning={w}");
    }
    let rtl_dir = root.join("rtl");
    let lint_cfg = root.join("sim/verilator/lint.vlt");
    let mut sources = vec![lint_cfg, cfg_pkg, isa_pkg];
    let rtl_files = vbuild::rtl_sources(&rtl_dir)?;
    sources.extend(rtl_files.iter().cloned());
    let vobj = out.join("vobj");
    let models = models();
    // Both models verilate in parallel when cargo gives us more than one job.
    let verilate = |m: &ModelSpec| verilator.verilate(m, &sources, &rtl_dir, &vobj.join(&m.prefix));
    let verilated: Vec<Result<PathBuf>> = if jobs > 1 {
        std::thread::scope(|s| {
            let verilate = &verilate;
            let handles: Vec<_> = models
                .iter()
                .map(|m| s.spawn(move || verilate(m)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow!("verilator thread panicked")))
                })
                .collect()
        })
    } else {
        models.iter().map(verilate).collect()
    };
    let mut model_dirs = Vec::new();
    for (m, r) in models.iter().zip(verilated) {
        model_dirs.push((m, r?));
    }
    let t_verilate = t0.elapsed();

    // ---- compile ----
    let cxx = cc::Build::new()
        .cpp(true)
        .opt_level(2)
        .debug(false)
        .warnings(false)
        .extra_warnings(false)
        .try_get_compiler()
        .context("finding a C++ compiler")?;
    let base_args = verilator.base_args(
        cxx.args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    );
    let cache = ObjCache::new(out.join("objcache"), cxx.path(), &verilator.version)?;
    let plan = vbuild::plan_compile(
        &verilator,
        &base_args,
        &model_dirs,
        &root.join("sim/verilator"),
        &cache,
    )?;
    let jobs_list = &plan.jobs;
    let (n_compiled, times) = vbuild::compile_all(cxx.path(), jobs_list, jobs, &|_, _| {})?;
    // The slowest compiles, in the build script's output (target/*/build/gemforge-*/output): what to look
    // at when a cold build gets slow.
    for (secs, name) in times.iter().take(6) {
        println!("gemforge build: compiled {name} in {secs:.1}s");
    }
    cache.prune(jobs_list)?;
    let t_compile = t0.elapsed() - t_verilate;

    // ---- archive and link ----
    let lib_name = "gemforge_vmodel";
    let lib = out.join(format!("lib{lib_name}.a"));
    let _ = fs::remove_file(&lib);
    let mut ar = cc::Build::new()
        .try_get_archiver()
        .context("finding the archiver (ar)")?;
    ar.arg("crs").arg(&lib);
    for j in jobs_list {
        ar.arg(&j.obj);
    }
    vbuild::run_checked(&mut ar, "ar")?;
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static={lib_name}");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let cxx_stdlib = if target_os == "macos" {
        "c++"
    } else {
        "stdc++"
    };
    println!("cargo:rustc-link-lib=dylib={cxx_stdlib}");
    for l in &plan.link_libs {
        println!("cargo:rustc-link-lib=dylib={l}");
    }

    // ---- Rust side: bindings and what was built ----
    let shim_h = root.join("sim/verilator/gf_shim.h");
    let bindings = bindgen::Builder::default()
        .header(shim_h.to_string_lossy())
        .allowlist_function("gf_.*")
        .allowlist_type("gf_.*")
        .allowlist_var("GF_.*")
        .derive_default(true)
        .generate()
        .map_err(|e| anyhow!("bindgen on {}: {e} ({SETUP_HINT})", shim_h.display()))?;
    bindings
        .write_to_file(out.join("gf_shim_bindings.rs"))
        .context("writing gf_shim_bindings.rs")?;
    let mut info = String::new();
    let _ = writeln!(
        info,
        "/// Name of the configuration the linked RTL model was built for."
    );
    let _ = writeln!(info, "pub const BUILT_CONFIG_NAME: &str = {:?};", cfg.name);
    let _ = writeln!(info, "/// `rtl_fingerprint()` of that configuration.");
    let _ = writeln!(
        info,
        "pub const BUILT_RTL_FINGERPRINT: &str = {:?};",
        cfg.rtl_fingerprint()
    );
    let _ = writeln!(info, "/// The Verilator that built it.");
    let _ = writeln!(
        info,
        "pub const VERILATOR_VERSION: &str = {:?};",
        verilator.version
    );
    write_if_changed(&out.join("gf_build_info.rs"), info.as_bytes())?;
    // The RTL and shim sources, embedded so that an installed binary can build variants
    // (src/sim/accel/variant.rs) without the source tree.
    let mut embedded: Vec<PathBuf> = rtl_files.clone();
    let shim_dir = root.join("sim/verilator");
    let mut shim_files: Vec<PathBuf> = fs::read_dir(&shim_dir)
        .with_context(|| format!("listing {}", shim_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    shim_files.sort();
    embedded.extend(shim_files);
    let mut srcs = String::from(
        "/// (path relative to the crate root, content) of every RTL and shim source file.\n\
         pub const SOURCES: &[(&str, &[u8])] = &[\n",
    );
    for p in &embedded {
        let rel = p.strip_prefix(&root).unwrap_or(p);
        let _ = writeln!(
            srcs,
            "    ({:?}, include_bytes!({:?})),",
            rel.to_string_lossy(),
            p.to_string_lossy()
        );
    }
    srcs.push_str("];\n");
    write_if_changed(&out.join("gf_sources.rs"), srcs.as_bytes())?;

    println!(
        "gemforge build: verilate {:.1}s, compile {:.1}s ({} of {} objects rebuilt, {} jobs), total {:.1}s",
        t_verilate.as_secs_f64(),
        t_compile.as_secs_f64(),
        n_compiled,
        jobs_list.len(),
        jobs,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn env(k: &str) -> Result<String> {
    std::env::var(k).with_context(|| format!("environment variable {k} (set by cargo)"))
}

fn write_if_changed(path: &Path, data: &[u8]) -> Result<()> {
    if fs::read(path).ok().as_deref() != Some(data) {
        fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
