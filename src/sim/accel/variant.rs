//! RTL variants: any valid configuration, Verilated and compiled on first use into a shared library (the
//! same C ABI shim as the linked default model), cached by a hash of everything that determines it.
//!
//! Cache layout under `<cache>/rtl/` (`<cache>` is [`crate::store::cache_dir`]):
//! - `<key>/libgemforge_rtl.so` and `<key>/variant.toml` (what was built, from what): one published
//!   variant. `variant.toml` is written before the directory is renamed into place, so a directory
//!   under its final name is always complete.
//! - `locks/<key>.lock`: held (flock) while a process builds `<key>`; a second process building the same
//!   key waits, then finds the first one's result and uses it.
//! - `objcache/`: Verilator's runtime library objects, shared by all variants.
//! - `tmp/`: build directories (one per build, unique to the process), removed after the build.
//!
//! The key covers the configuration's RTL parameters ([`HwConfig::rtl_fingerprint`]), every RTL and shim
//! source file (embedded in the binary at build time, so an installed binary needs no source tree; the
//! directory named by `$GEMFORGE_RTL_SOURCES` replaces them, for RTL development), the Verilator version
//! and the C++ compiler's identity.

use crate::sim::config::HwConfig;
use crate::sim::vbuild::{self, ModelSpec, ObjCache, Verilator, SETUP_HINT};
use crate::store::{self, FileLock};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/gf_sources.rs"));
}

/// A directory with `rtl/*.sv` and `sim/verilator/*` used instead of the embedded sources.
pub const SOURCES_ENV: &str = "GEMFORGE_RTL_SOURCES";
/// The shared library of one variant.
pub const LIB_FILE: &str = "libgemforge_rtl.so";
/// What a variant was built from.
pub const META_FILE: &str = "variant.toml";
/// Changes whenever the layout or the build recipe changes, so old entries are never reused.
const RECIPE: &str = "gemforge-rtl-variant-1 untraced -O2 -shared -Bsymbolic";
/// The Verilated model's class prefix inside a variant.
const PREFIX: &str = "Vgemmini";

/// The cache root for variants: `<cache>/rtl`.
pub fn cache_root() -> PathBuf {
    store::cache_dir().join("rtl")
}

/// The RTL and shim sources: (path relative to the crate root, content).
pub fn sources() -> Result<Vec<(String, Vec<u8>)>> {
    let Some(dir) = std::env::var_os(SOURCES_ENV).filter(|d| !d.is_empty()) else {
        return Ok(embedded::SOURCES
            .iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect());
    };
    sources_from_dir(Path::new(&dir)).with_context(|| format!("reading ${SOURCES_ENV}"))
}

/// The sources in `dir` (`rtl/*.sv` and `sim/verilator/*`), in the embedded list's order and naming.
pub fn sources_from_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for sub in ["rtl", "sim/verilator"] {
        let d = dir.join(sub);
        let mut files: Vec<PathBuf> = fs::read_dir(&d)
            .with_context(|| format!("listing {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| sub != "rtl" || p.extension().is_some_and(|x| x == "sv"))
            .collect();
        files.sort();
        for p in files {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let bytes = fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            out.push((format!("{sub}/{}", name.unwrap_or_default()), bytes));
        }
    }
    if !out.iter().any(|(p, _)| p == "rtl/gemmini_pkg.sv") {
        bail!("{}: no rtl/gemmini_pkg.sv there", dir.display());
    }
    Ok(out)
}

/// The tools a variant is built with.
pub struct Tools {
    pub verilator: Verilator,
    pub cxx: PathBuf,
    /// First line of `cxx --version`.
    pub cxx_version: String,
}

impl Tools {
    pub fn find() -> Result<Tools> {
        let verilator = Verilator::find()?;
        let cxx = PathBuf::from(
            std::env::var_os("CXX")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "c++".into()),
        );
        let out = Command::new(&cxx)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run `{} --version`: {SETUP_HINT}", cxx.display()))?;
        let cxx_version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        Ok(Tools {
            verilator,
            cxx,
            cxx_version,
        })
    }
}

/// The cache key of `cfg` built from `sources` with `tools` (64 hex digits).
pub fn variant_key(cfg: &HwConfig, sources: &[(String, Vec<u8>)], tools: &Tools) -> String {
    let mut h = store::KeyHasher::new();
    h.field(RECIPE)
        .field(cfg.rtl_fingerprint())
        .field(&tools.verilator.version)
        .field(tools.cxx.to_string_lossy().as_bytes())
        .field(&tools.cxx_version)
        .field(crate::sim::isa::sv_isa_package());
    // By path, so the order sources were listed in does not matter.
    let mut sorted: Vec<&(String, Vec<u8>)> = sources.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, b) in sorted {
        h.field(p).field(b);
    }
    h.finish()
}

/// What a cached variant was built from (`variant.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantMeta {
    pub key: String,
    /// Name of the configuration that first needed it (others with the same RTL share it).
    pub config_name: String,
    pub dim: u32,
    pub fingerprint: String,
    pub verilator: String,
    pub compiler: String,
    pub built_unix_secs: u64,
    pub build_seconds: f64,
}

/// One variant in the cache.
#[derive(Debug, Clone)]
pub struct CachedVariant {
    pub dir: PathBuf,
    pub meta: VariantMeta,
    pub bytes: u64,
}

/// The shared library of `cfg`'s variant: from the cache, or built now (showing progress on a terminal
/// when `progress` is set). Returns the library's path and whether it was built by this call.
pub fn ensure_built(cfg: &HwConfig, root: &Path, progress: bool) -> Result<(PathBuf, bool)> {
    let srcs = sources()?;
    let tools = Tools::find()?;
    let key = variant_key(cfg, &srcs, &tools);
    let dir = root.join(&key);
    if dir.join(META_FILE).is_file() {
        log::info!(
            "rtl `{}`: cached variant {} (key {}), nothing to build",
            cfg.name,
            dir.display(),
            &key[..16]
        );
        return Ok((dir.join(LIB_FILE), false));
    }
    let locks = root.join("locks");
    fs::create_dir_all(&locks).with_context(|| format!("creating {}", locks.display()))?;
    let lock_path = locks.join(format!("{key}.lock"));
    let lock =
        FileLock::acquire(&lock_path).context("waiting for another build of this variant")?;
    // Another process may have built it while this one waited for the lock.
    if dir.join(META_FILE).is_file() {
        drop(lock);
        log::info!(
            "rtl `{}`: another process built {} while this one waited",
            cfg.name,
            dir.display()
        );
        return Ok((dir.join(LIB_FILE), false));
    }
    remove_stale_builds(&root.join("tmp"));
    let r = build(cfg, root, &key, &srcs, &tools, progress);
    drop(lock);
    r.map(|p| (p, true))
}

fn build(
    cfg: &HwConfig,
    root: &Path,
    key: &str,
    srcs: &[(String, Vec<u8>)],
    tools: &Tools,
    progress: bool,
) -> Result<PathBuf> {
    let t0 = Instant::now();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = root
        .join("tmp")
        .join(format!("{}-{}-{nanos}", &key[..16], std::process::id()));
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let r = build_in(cfg, root, key, srcs, tools, progress, &tmp, t0);
    let _ = fs::remove_dir_all(&tmp);
    r.with_context(|| {
        format!(
            "building the RTL variant for configuration `{}` (dim {})",
            cfg.name,
            cfg.dim()
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn build_in(
    cfg: &HwConfig,
    root: &Path,
    key: &str,
    srcs: &[(String, Vec<u8>)],
    tools: &Tools,
    progress: bool,
    tmp: &Path,
    t0: Instant,
) -> Result<PathBuf> {
    let bar = if progress {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} RTL variant `{prefix}`: {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(cfg.name.clone());
    bar.enable_steady_tick(Duration::from_millis(200));
    if progress {
        eprintln!(
            "gemforge: building the RTL for configuration `{}` (first use; about a minute, cached in {})",
            cfg.name,
            root.display()
        );
    }

    crate::term::attach(&bar);
    // -v (log::info!): each phase as it starts and its time, and the commands that matter.
    let phase_done = |what: &str, t: Instant| {
        log::info!(
            "rtl `{}`: phase {what} {:.1} s",
            cfg.name,
            t.elapsed().as_secs_f64()
        );
    };
    log::info!(
        "rtl `{}`: building variant {} in {} (Verilator {}, {})",
        cfg.name,
        &key[..16],
        tmp.display(),
        tools.verilator.version,
        tools.cxx.display()
    );

    // Sources and the configuration package.
    let t_phase = Instant::now();
    bar.set_message("writing sources");
    let src_dir = tmp.join("src");
    for (p, b) in srcs {
        let dest = src_dir.join(p);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&dest, b).with_context(|| format!("writing {}", dest.display()))?;
    }
    let rtl_dir = src_dir.join("rtl");
    let shim_dir = src_dir.join("sim/verilator");
    let cfg_pkg = src_dir.join("gemmini_cfg_pkg.sv");
    fs::write(&cfg_pkg, cfg.sv_config_package())
        .with_context(|| format!("writing {}", cfg_pkg.display()))?;
    let isa_pkg = src_dir.join("gemmini_isa_pkg.sv");
    fs::write(&isa_pkg, crate::sim::isa::sv_isa_package())
        .with_context(|| format!("writing {}", isa_pkg.display()))?;
    let mut sources = vec![shim_dir.join("lint.vlt"), cfg_pkg, isa_pkg];
    sources.extend(vbuild::rtl_sources(&rtl_dir)?);
    phase_done("write sources", t_phase);

    // Verilate.
    let t_phase = Instant::now();
    bar.set_message("verilating");
    let model = ModelSpec {
        prefix: PREFIX.into(),
        traced: false,
        suffix: String::new(),
        opt_fast: "-O2".into(),
    };
    let v = &tools.verilator;
    log::info!(
        "rtl `{}`: verilate: {}",
        cfg.name,
        crate::sim::toolchain::command_line(&v.verilate_command(
            &model,
            &sources,
            &rtl_dir,
            &tmp.join("vobj")
        ))
    );
    let vdir = v.verilate(&model, &sources, &rtl_dir, &tmp.join("vobj"))?;
    phase_done("verilate", t_phase);

    // Compile.
    let cache = ObjCache::new(root.join("objcache"), &tools.cxx, &v.version)?;
    let base = v.base_args(vec!["-ffunction-sections".into(), "-fdata-sections".into()]);
    let plan = vbuild::plan_compile(v, &base, &[(&model, vdir)], &shim_dir, &cache)?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t_phase = Instant::now();
    let to_compile = plan.jobs.iter().filter(|j| !j.obj.exists()).count();
    log::info!(
        "rtl `{}`: compile: {to_compile} of {} C++ files with {} ({jobs} at a time; the rest are in the object cache {})",
        cfg.name,
        plan.jobs.len(),
        tools.cxx.display(),
        root.join("objcache").display()
    );
    bar.set_message("compiling");
    let report = |done: usize, total: usize| {
        bar.set_message(format!("compiling C++ {done}/{total}"));
    };
    vbuild::compile_all(&tools.cxx, &plan.jobs, jobs, &report)?;
    phase_done("compile", t_phase);

    // Link.
    bar.set_message("linking");
    let out_dir = tmp.join("out");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let lib = out_dir.join(LIB_FILE);
    let mut cmd = Command::new(&tools.cxx);
    // -Bsymbolic: the library's references to its own (Verilator runtime) symbols stay inside it, even
    // though the binary that loads it links another copy of that runtime for the default model.
    cmd.args(["-shared", "-pthread", "-Wl,-Bsymbolic", "-o"])
        .arg(&lib);
    for j in &plan.jobs {
        cmd.arg(&j.obj);
    }
    for l in &plan.link_libs {
        cmd.arg(format!("-l{l}"));
    }
    let t_phase = Instant::now();
    log::info!(
        "rtl `{}`: link: {}",
        cfg.name,
        crate::sim::toolchain::command_line(&cmd)
    );
    vbuild::run_checked(&mut cmd, "linking the RTL variant")?;
    phase_done("link", t_phase);
    // The model's own objects are inside the library now and never reused: keep only the runtime's.
    for j in &plan.jobs {
        if j.src.starts_with(tmp) {
            let _ = fs::remove_file(&j.obj);
        }
    }

    // Publish: complete the directory, then rename it into place.
    let meta = VariantMeta {
        key: key.to_string(),
        config_name: cfg.name.clone(),
        dim: cfg.dim(),
        fingerprint: cfg.rtl_fingerprint(),
        verilator: v.version.clone(),
        compiler: format!("{} ({})", tools.cxx.display(), tools.cxx_version),
        built_unix_secs: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        build_seconds: t0.elapsed().as_secs_f64(),
    };
    let text = toml::to_string(&meta).context("serializing variant.toml")?;
    fs::write(out_dir.join(META_FILE), text).context("writing variant.toml")?;
    let dest = root.join(key);
    // Only a finished variant is ever renamed into place, so one that exists is as good as ours.
    store::publish_dir(&out_dir, &dest, META_FILE).context("publishing the variant")?;
    bar.finish_and_clear();
    log::info!(
        "rtl `{}`: published {} ({:.1} s in all)",
        cfg.name,
        dest.display(),
        t0.elapsed().as_secs_f64()
    );
    if progress {
        eprintln!(
            "gemforge: built the RTL for `{}` in {:.0} s",
            cfg.name,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(dest.join(LIB_FILE))
}

/// Build directories left by processes that were killed mid-build (older than a day: no build takes
/// that long, so none of them belongs to a running build).
fn remove_stale_builds(tmp: &Path) {
    let Ok(rd) = fs::read_dir(tmp) else { return };
    for e in rd.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(24 * 3600));
        if old {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Every complete variant in the cache, sorted by configuration name.
pub fn list(root: &Path) -> Result<Vec<CachedVariant>> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(root) else {
        return Ok(out);
    };
    for e in rd {
        let dir = e?.path();
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            continue;
        }
        let text = fs::read_to_string(&meta_path)
            .with_context(|| format!("reading {}", meta_path.display()))?;
        let meta: VariantMeta =
            toml::from_str(&text).with_context(|| format!("parsing {}", meta_path.display()))?;
        let bytes = fs::metadata(dir.join(LIB_FILE)).map_or(0, |m| m.len());
        out.push(CachedVariant { dir, meta, bytes });
    }
    out.sort_by(|a, b| (&a.meta.config_name, &a.meta.key).cmp(&(&b.meta.config_name, &b.meta.key)));
    Ok(out)
}

/// Remove every cached variant, the shared objects and leftovers of interrupted builds. Returns how many
/// variants were removed. (A process that has a variant loaded keeps working: the mapping stays valid.)
pub fn clean(root: &Path) -> Result<usize> {
    let n = list(root)?.len();
    if root.exists() {
        fs::remove_dir_all(root).with_context(|| format!("removing {}", root.display()))?;
    }
    Ok(n)
}
