//! Compiling C for the simulated hart, and loading ELF files.
//!
//! [`Toolchain::compile`] builds one bare-metal executable from C (or assembly) sources with
//! `riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O2` (the ISA Chipyard's Rocket
//! and gemmini-rocc-tests use; [`Toolchain::with_arch`] chooses another `-march`/`-mabi`, e.g.
//! `rv64im`/`lp64`), picolibc (Debian's `picolibc-riscv64-unknown-elf`, whose multilib for the flags gcc
//! selects: `rv64imafdc/lp64d` by default) and gemforge's own runtime from `sim/target/`:
//! `crt0.S` (start-up, semihosting exit), `syscalls.c` (stdio over semihosting), `link.ld` (RAM at
//! 0x8000_0000) and `include/gemmini.h`, plus the `gemmini_params.h` generated from the hardware
//! configuration. The runtime is embedded in the binary, so an installed `gemforge` works from any
//! directory; it is written once per content into the cache directory.
//!
//! Search order for `#include`: the including file's directory (quoted includes), then the caller's
//! include directories in order, then the bundled `include/` (so a user's own `gemmini.h` or
//! `gemmini_params.h` wins), then picolibc's headers.
//!
//! Compiles are cached by content. A first key hashes everything known before compiling (compiler
//! identity, flags (so `-march`/`-mabi`), defines, extra arguments, source paths and bytes, runtime files, the generated params
//! header, memory size); under it a manifest records every header the compile read (from gcc's `-MMD`
//! dependency files) with its hash, and the ELF is stored as `elf/<key>.elf`, where `<key>` also covers
//! those headers. A lookup re-hashes the recorded headers, so editing an included file recompiles. Files
//! are written to a temporary name and renamed, so concurrent compiles of the same program cannot corrupt
//! the cache. The cache directory is `$GEMFORGE_CACHE_DIR`, else `$XDG_CACHE_HOME/gemforge`, else
//! `~/.cache/gemforge`.

use crate::sim::config::HwConfig;
use crate::sim::mem::{MemError, Memory};
use crate::store::{self, sha256_hex, KeyHasher};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The cross compiler's name on `PATH` (override with `$GEMFORGE_RISCV_GCC`).
pub const GCC_NAME: &str = "riscv64-unknown-elf-gcc";

/// The default `-march` and `-mabi`: RV64GC with the hard-float double ABI, as gemmini-rocc-tests build.
pub const DEFAULT_MARCH: &str = "rv64gc";
pub const DEFAULT_MABI: &str = "lp64d";
/// Code model of every compile (code lives at 0x8000_0000, beyond medlow's reach, hence medany).
pub const CMODEL_FLAGS: &[&str] = &["-mcmodel=medany"];
/// Optimization of every compile.
pub const OPT_FLAGS: &[&str] = &["-O2"];
/// picolibc: headers and libc through its specs file; the OS layer (open, lseek, ...) from libsemihost.
pub const LIBC_FLAGS: &[&str] = &["--specs=picolibc.specs", "--oslib=semihost"];

const SETUP_HINT: &str =
    "run scripts/setup.sh (it installs gcc-riscv64-unknown-elf and picolibc-riscv64-unknown-elf)";

/// Bumped whenever the way a compile is made changes, so old cache entries are not reused.
const CACHE_VERSION: &str = "gemforge-toolchain-2";

/// The runtime files, embedded: (path inside the runtime directory, contents).
pub const RUNTIME_FILES: &[(&str, &str)] = &[
    ("crt0.S", include_str!("../../sim/target/crt0.S")),
    ("syscalls.c", include_str!("../../sim/target/syscalls.c")),
    ("link.ld", include_str!("../../sim/target/link.ld")),
    (
        "include/gemmini.h",
        include_str!("../../sim/target/include/gemmini.h"),
    ),
    (
        "include/gemmini_nn.h",
        include_str!("../../sim/target/include/gemmini_nn.h"),
    ),
];

/// The runtime sources compiled into every program (in link order, before the user's objects).
const RUNTIME_SOURCES: &[&str] = &["crt0.S", "syscalls.c"];

#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("{GCC_NAME} not found ({detail}); {SETUP_HINT}")]
    CompilerNotFound { detail: String },
    #[error("picolibc for {GCC_NAME} not found (no picolibc.specs); {SETUP_HINT}")]
    PicolibcNotFound,
    /// The compiler's or linker's messages, verbatim.
    #[error("{}", compile_message(.stderr, .status))]
    Compile { stderr: String, status: String },
    /// A `--march` / `--mabi` value that is not a plain RV64 ISA or LP64 ABI string.
    #[error("{flag} {value:?}: expected {expected}")]
    BadArch {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },
    // The cause is part of the message and deliberately not a `source`: error chains print it once.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Writing the compile cache failed (the message names the file).
    #[error("compile cache: {0}")]
    Cache(std::io::Error),
    #[error("{what}: not a usable ELF file: {reason}")]
    BadElf { what: String, reason: String },
    #[error("ELF segment at 0x{vaddr:x} ({memsz} bytes) does not fit main memory: {cause}")]
    Load {
        vaddr: u64,
        memsz: u64,
        cause: MemError,
    },
}

fn compile_message(stderr: &str, status: &str) -> String {
    if stderr.trim().is_empty() {
        format!("{GCC_NAME} failed ({status}) without printing a message")
    } else {
        stderr.trim_end().to_string()
    }
}

pub type Result<T, E = ToolchainError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ToolchainError + '_ {
    move |cause| ToolchainError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// A command as one line (program and arguments separated by spaces), for `--verbose` listings.
pub fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The RISC-V cross compiler and the compile cache.
#[derive(Debug, Clone)]
pub struct Toolchain {
    gcc: PathBuf,
    /// `gcc --version` output and the picolibc specs path: part of every cache key.
    identity: String,
    cache_dir: PathBuf,
    extra_args: Vec<String>,
    march: String,
    mabi: String,
}

/// The result of a compile: the loaded ELF, where it is stored, and how it was obtained.
#[derive(Debug, Clone)]
pub struct CompileOutput {
    pub elf: Elf,
    /// The cached ELF file (`<cache>/elf/<key>.elf`).
    pub path: PathBuf,
    /// Content hash naming the ELF.
    pub key: String,
    /// True if the ELF came from the cache without running the compiler.
    pub cache_hit: bool,
    /// The compiler's warnings (stderr of a successful compile; empty on a cache hit).
    pub warnings: String,
    /// The compiler command lines run, compiles then the link (empty on a cache hit; the runtime's
    /// objects, built once per cache, are not among them).
    pub commands: Vec<String>,
}

impl Toolchain {
    /// Finds `riscv64-unknown-elf-gcc` (`$GEMFORGE_RISCV_GCC`, else on `PATH`) and picolibc; the cache
    /// directory is [`store::cache_dir`].
    pub fn new() -> Result<Toolchain> {
        let gcc = match std::env::var_os("GEMFORGE_RISCV_GCC") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => find_in_path(GCC_NAME).ok_or_else(|| ToolchainError::CompilerNotFound {
                detail: "not on PATH".to_string(),
            })?,
        };
        Toolchain::with_gcc(gcc)
    }

    /// Uses the given compiler; checks that it runs and that picolibc is installed for it.
    pub fn with_gcc(gcc: PathBuf) -> Result<Toolchain> {
        let run = |args: &[&str]| -> Result<String> {
            let out = Command::new(&gcc).args(args).output().map_err(|e| {
                ToolchainError::CompilerNotFound {
                    detail: format!("{}: {e}", gcc.display()),
                }
            })?;
            if !out.status.success() {
                return Err(ToolchainError::CompilerNotFound {
                    detail: format!(
                        "`{} {}` failed: {}",
                        gcc.display(),
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                });
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let version = run(&["--version"])?;
        let specs = run(&["-print-file-name=picolibc.specs"])?;
        let specs = specs.trim();
        if !Path::new(specs).is_absolute() {
            return Err(ToolchainError::PicolibcNotFound);
        }
        let mut identity = version.lines().next().unwrap_or("").to_string();
        identity.push('\n');
        identity.push_str(specs);
        if let Ok(text) = fs::read(specs) {
            identity.push('\n');
            identity.push_str(&sha256_hex(&text));
        }
        Ok(Toolchain {
            gcc,
            identity,
            cache_dir: store::cache_dir(),
            extra_args: Vec::new(),
            march: DEFAULT_MARCH.to_string(),
            mabi: DEFAULT_MABI.to_string(),
        })
    }

    /// Compile for `-march=<march> -mabi=<mabi>` instead of rv64gc/lp64d (part of every cache key, and
    /// of the runtime's). Both must be plain ISA / ABI strings (`rv64...`, `lp64...`); gcc rejects
    /// combinations it does not know. The hart runs RV64GC, so any RV64 subset of it works; picolibc
    /// links the multilib gcc maps the pair to (`riscv64-unknown-elf-gcc -print-multi-lib`).
    pub fn with_arch(mut self, march: &str, mabi: &str) -> Result<Toolchain> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        };
        if !plain(march) || !march.starts_with("rv64") {
            return Err(ToolchainError::BadArch {
                flag: "--march",
                value: march.to_string(),
                expected: "an RV64 ISA string such as rv64gc, rv64imac or rv64im",
            });
        }
        if !plain(mabi) || !mabi.starts_with("lp64") {
            return Err(ToolchainError::BadArch {
                flag: "--mabi",
                value: mabi.to_string(),
                expected: "lp64, lp64f or lp64d",
            });
        }
        self.march = march.to_string();
        self.mabi = mabi.to_string();
        Ok(self)
    }

    /// `-march=... -mabi=... -mcmodel=medany`: the code-generation flags of every compile and link.
    pub fn arch_flags(&self) -> Vec<String> {
        let mut f = vec![
            format!("-march={}", self.march),
            format!("-mabi={}", self.mabi),
        ];
        f.extend(CMODEL_FLAGS.iter().map(|s| s.to_string()));
        f
    }

    /// Stores compiled ELF files (and the runtime) under `dir` instead of the default cache directory.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Toolchain {
        self.cache_dir = dir.into();
        self
    }

    /// Extra compiler arguments for every compile, after the standard flags and before the sources
    /// (e.g. `-include gemmini.h`, `-Wall`, `-DFAST`). They are part of the cache key.
    pub fn with_extra_args<I, S>(mut self, args: I) -> Toolchain
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn gcc(&self) -> &Path {
        &self.gcc
    }
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }
    pub fn extra_args(&self) -> &[String] {
        &self.extra_args
    }

    /// Compiles and links `sources` into one executable for the configuration `cfg` (its
    /// `gemmini_params.h` and memory size), or returns the cached result of an identical compile.
    /// `defines` are `-D NAME` / `-D NAME=VALUE`; sources ending in `.o` are prebuilt objects, linked
    /// after the compiled ones. Compiler errors come back verbatim in
    /// [`ToolchainError::Compile`].
    pub fn compile(
        &self,
        sources: &[PathBuf],
        include_dirs: &[PathBuf],
        defines: &[(String, Option<String>)],
        cfg: &HwConfig,
    ) -> Result<Elf> {
        Ok(self
            .compile_cached(sources, include_dirs, defines, cfg)?
            .elf)
    }

    /// [`Toolchain::compile`], also telling where the ELF is and whether it was a cache hit.
    pub fn compile_cached(
        &self,
        sources: &[PathBuf],
        include_dirs: &[PathBuf],
        defines: &[(String, Option<String>)],
        cfg: &HwConfig,
    ) -> Result<CompileOutput> {
        if sources.is_empty() {
            return Err(ToolchainError::Compile {
                stderr: "no source files given".to_string(),
                status: "not run".to_string(),
            });
        }
        let params = cfg.gemmini_params_h();
        let runtime = self.runtime_dir(&params)?;
        let mem_size = cfg.memory.size_mib as u64 * 1024 * 1024;

        // Everything known before compiling.
        let mut flags: Vec<String> = Vec::new();
        flags.extend(self.arch_flags());
        flags.extend(OPT_FLAGS.iter().map(|s| s.to_string()));
        flags.extend(LIBC_FLAGS.iter().map(|s| s.to_string()));
        for d in include_dirs {
            flags.push(format!("-I{}", d.display()));
        }
        flags.push(format!("-I{}", runtime.join("include").display()));
        for (name, value) in defines {
            match value {
                Some(v) => flags.push(format!("-D{name}={v}")),
                None => flags.push(format!("-D{name}")),
            }
        }
        flags.extend(self.extra_args.iter().cloned());

        let mut h = KeyHasher::new();
        h.field(CACHE_VERSION.as_bytes());
        h.field(self.identity.as_bytes());
        // The runtime directory's name is the hash of its contents; flags mention it.
        for f in &flags {
            h.field(f.as_bytes());
        }
        h.field(format!("mem_size={mem_size}").as_bytes());
        let mut source_abs = Vec::with_capacity(sources.len());
        for s in sources {
            let bytes = fs::read(s).map_err(io_err(s))?;
            h.field(s.display().to_string().as_bytes());
            h.field(&bytes);
            source_abs.push(absolute(s));
        }
        // Relative paths resolve against the working directory, so it is part of the key then.
        if sources.iter().chain(include_dirs).any(|p| p.is_relative()) {
            h.field(
                std::env::current_dir()
                    .unwrap_or_default()
                    .display()
                    .to_string()
                    .as_bytes(),
            );
        }
        let key1 = h.finish();

        let manifest_path = self.cache_dir.join("manifest").join(format!("{key1}.txt"));
        if let Some(m) = read_manifest(&manifest_path) {
            if let Some(key) = m.still_valid() {
                let path = self.cache_dir.join("elf").join(format!("{key}.elf"));
                if let Ok(bytes) = fs::read(&path) {
                    if let Ok(elf) = Elf::parse(&bytes, &path.display().to_string()) {
                        return Ok(CompileOutput {
                            elf,
                            path,
                            key,
                            cache_hit: true,
                            warnings: String::new(),
                            commands: Vec::new(),
                        });
                    }
                }
            }
        }

        // Compile in a private work directory.
        let work = self.temp_dir("build")?;
        let result = self.build(
            &work,
            &runtime,
            &flags,
            &source_abs,
            mem_size,
            &key1,
            &manifest_path,
        );
        let _ = fs::remove_dir_all(&work);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        work: &Path,
        runtime: &Path,
        flags: &[String],
        sources: &[PathBuf],
        mem_size: u64,
        key1: &str,
        manifest_path: &Path,
    ) -> Result<CompileOutput> {
        // Objects (`.o`) are linked as given (their bytes are in the cache key).
        let prebuilt: Vec<&PathBuf> = sources.iter().filter(|s| is_object(s)).collect();
        // Compile each other source to an object (in parallel), with its dependency file.
        let jobs: Vec<(PathBuf, PathBuf, PathBuf)> = sources
            .iter()
            .filter(|s| !is_object(s))
            .enumerate()
            .map(|(i, s)| {
                let stem = s
                    .file_stem()
                    .map(|x| x.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "src".to_string());
                let obj = work.join(format!("{i}-{stem}.o"));
                let dep = work.join(format!("{i}-{stem}.d"));
                (s.clone(), obj, dep)
            })
            .collect();
        let compile_cmd = |src: &Path, obj: &Path, dep: &Path| {
            let mut cmd = Command::new(&self.gcc);
            cmd.args(flags)
                .arg("-c")
                .arg(src)
                .arg("-o")
                .arg(obj)
                .arg("-MMD")
                .arg("-MF")
                .arg(dep);
            cmd
        };
        let mut commands: Vec<String> = jobs
            .iter()
            .map(|(src, obj, dep)| command_line(&compile_cmd(src, obj, dep)))
            .collect();
        let results: Vec<Result<String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(src, obj, dep)| {
                    let cmd = compile_cmd(src, obj, dep);
                    scope.spawn(move || run_gcc(cmd))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(ToolchainError::Compile {
                            stderr: "compiler thread panicked".to_string(),
                            status: "not run".to_string(),
                        })
                    })
                })
                .collect()
        });
        let mut warnings = String::new();
        let mut errors = String::new();
        let mut status = String::new();
        for r in results {
            match r {
                Ok(w) => warnings.push_str(&w),
                Err(ToolchainError::Compile { stderr, status: s }) => {
                    errors.push_str(&stderr);
                    if status.is_empty() {
                        status = s;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !status.is_empty() {
            return Err(ToolchainError::Compile {
                stderr: errors,
                status,
            });
        }

        // Link: runtime objects first, then the program's.
        let out = work.join("program.elf");
        let mut cmd = Command::new(&self.gcc);
        cmd.args(self.arch_flags())
            .args(OPT_FLAGS)
            .args(LIBC_FLAGS)
            .arg("-nostartfiles")
            .arg("-T")
            .arg(runtime.join("link.ld"))
            .arg(format!("-Wl,--defsym=__mem_size=0x{mem_size:x}"));
        for r in RUNTIME_SOURCES {
            cmd.arg(runtime.join(object_name(r)));
        }
        for (_, obj, _) in &jobs {
            cmd.arg(obj);
        }
        for obj in &prebuilt {
            cmd.arg(obj);
        }
        cmd.args(self.extra_link_args()).arg("-o").arg(&out);
        commands.push(command_line(&cmd));
        warnings.push_str(&run_gcc(cmd)?);

        // Headers the compile read (excluding system headers; the compiler identity covers those).
        let mut deps: BTreeMap<PathBuf, String> = BTreeMap::new();
        for (src, _, dep) in &jobs {
            let text = fs::read_to_string(dep).map_err(io_err(dep))?;
            for p in parse_depfile(&text) {
                let p = absolute(&p);
                if &p == src || deps.contains_key(&p) {
                    continue;
                }
                let bytes = fs::read(&p).map_err(io_err(&p))?;
                deps.insert(p, sha256_hex(&bytes));
            }
        }
        let manifest = Manifest {
            key1: key1.to_string(),
            deps,
        };
        let key = manifest.key();
        let bytes = fs::read(&out).map_err(io_err(&out))?;
        let elf = Elf::parse(&bytes, &out.display().to_string())?;
        let path = self.cache_dir.join("elf").join(format!("{key}.elf"));
        write_atomic(&path, &bytes)?;
        write_atomic(manifest_path, manifest.to_text().as_bytes())?;
        Ok(CompileOutput {
            elf,
            path,
            key,
            cache_hit: false,
            warnings,
            commands,
        })
    }

    /// Link-time extra arguments: the extra arguments that make sense to the linker driver
    /// (`-l`, `-L`, `-Wl,`, `-u`); everything else applies to compiling only.
    fn extra_link_args(&self) -> Vec<String> {
        self.extra_args
            .iter()
            .filter(|a| {
                a.starts_with("-l")
                    || a.starts_with("-L")
                    || a.starts_with("-Wl,")
                    || a.starts_with("-u")
            })
            .cloned()
            .collect()
    }

    /// The runtime directory for this params header: `<cache>/runtime/<hash>/` holding the runtime
    /// sources, `include/gemmini.h`, `include/gemmini_params.h` and the compiled runtime objects.
    /// Created once (in a temporary directory, then renamed into place).
    pub fn runtime_dir(&self, params_h: &str) -> Result<PathBuf> {
        let mut h = KeyHasher::new();
        h.field(CACHE_VERSION.as_bytes());
        h.field(self.identity.as_bytes());
        for (name, text) in RUNTIME_FILES {
            h.field(name.as_bytes());
            h.field(text.as_bytes());
        }
        h.field(params_h.as_bytes());
        // The runtime's objects are compiled for the chosen ISA and ABI.
        for f in self.arch_flags() {
            h.field(f.as_bytes());
        }
        let key = h.finish();
        let dir = self.cache_dir.join("runtime").join(&key[..32]);
        if dir.join("complete").is_file() {
            return Ok(dir);
        }
        let tmp = self.temp_dir("runtime")?;
        let r = (|| {
            fs::create_dir_all(tmp.join("include")).map_err(io_err(&tmp))?;
            for (name, text) in RUNTIME_FILES {
                let p = tmp.join(name);
                fs::write(&p, text).map_err(io_err(&p))?;
            }
            let p = tmp.join("include/gemmini_params.h");
            fs::write(&p, params_h).map_err(io_err(&p))?;
            // Compiled in place, then moved: the objects' debug info names the temporary directory,
            // which is harmless.
            for src in RUNTIME_SOURCES {
                let mut cmd = Command::new(&self.gcc);
                cmd.args(self.arch_flags())
                    .args(OPT_FLAGS)
                    .args(LIBC_FLAGS)
                    .arg("-c")
                    .arg(tmp.join(src))
                    .arg("-o")
                    .arg(tmp.join(object_name(src)));
                run_gcc(cmd)?;
            }
            fs::write(tmp.join("complete"), b"").map_err(io_err(&tmp))?;
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            match fs::rename(&tmp, &dir) {
                Ok(()) => Ok(()),
                // Another process installed the same runtime first.
                Err(_) if dir.join("complete").is_file() => Ok(()),
                Err(e) => Err(ToolchainError::Io {
                    path: dir.clone(),
                    cause: e,
                }),
            }
        })();
        let _ = fs::remove_dir_all(&tmp);
        r.map(|()| dir)
    }

    fn temp_dir(&self, what: &str) -> Result<PathBuf> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = self
            .cache_dir
            .join("tmp")
            .join(format!("{what}-{}-{n}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(dir)
    }
}

/// A prebuilt object file (linked, not compiled).
fn is_object(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "o")
}

fn object_name(src: &str) -> String {
    let stem = src.rsplit_once('.').map(|(s, _)| s).unwrap_or(src);
    format!("{stem}.o")
}

/// Runs gcc; Ok(stderr) on success (warnings), Err(Compile) with stderr verbatim on failure.
fn run_gcc(mut cmd: Command) -> Result<String> {
    let out = cmd.output().map_err(|e| ToolchainError::CompilerNotFound {
        detail: format!("{:?}: {e}", cmd.get_program()),
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(stderr)
    } else {
        Err(ToolchainError::Compile {
            stderr,
            status: out.status.to_string(),
        })
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Writes `path` atomically (see [`store::write_atomic`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    store::write_atomic(path, bytes).map_err(ToolchainError::Cache)
}

/// The prerequisites of a make-style dependency file (`target: a.h b.h \` ...), with `\ ` escapes.
fn parse_depfile(text: &str) -> Vec<PathBuf> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        // "target: deps"; phony targets ("header.h:") have no prerequisites.
        let Some(pos) = find_rule_colon(line) else {
            continue;
        };
        let mut cur = String::new();
        let mut chars = line[pos + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some(' ') | Some('#')) => {
                    cur.push(chars.next().unwrap_or(' '));
                }
                '$' if chars.peek() == Some(&'$') => {
                    chars.next();
                    cur.push('$');
                }
                c if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(PathBuf::from(std::mem::take(&mut cur)));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(PathBuf::from(cur));
        }
    }
    out
}

/// The colon separating a rule's target from its prerequisites (skipping escaped characters).
fn find_rule_colon(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b':' if i + 1 >= b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The headers one compile read, with their hashes at the time.
struct Manifest {
    key1: String,
    deps: BTreeMap<PathBuf, String>,
}

impl Manifest {
    fn key(&self) -> String {
        let mut h = KeyHasher::new();
        h.field(self.key1.as_bytes());
        for (p, d) in &self.deps {
            h.field(p.display().to_string().as_bytes());
            h.field(d.as_bytes());
        }
        h.finish()
    }

    fn to_text(&self) -> String {
        let mut s = format!("{}\n", self.key1);
        for (p, d) in &self.deps {
            let _ = writeln!(s, "{d} {}", p.display());
        }
        s
    }

    /// The ELF key if every recorded header still has its recorded contents.
    fn still_valid(&self) -> Option<String> {
        for (p, d) in &self.deps {
            let bytes = fs::read(p).ok()?;
            if &sha256_hex(&bytes) != d {
                return None;
            }
        }
        Some(self.key())
    }
}

fn read_manifest(path: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let key1 = lines.next()?.to_string();
    let mut deps = BTreeMap::new();
    for l in lines {
        let (d, p) = l.split_once(' ')?;
        deps.insert(PathBuf::from(p), d.to_string());
    }
    Some(Manifest { key1, deps })
}

// ---------------------------------------------------------------------------------------------------
// ELF
// ---------------------------------------------------------------------------------------------------

/// One loadable segment (`PT_LOAD`): `data` (the file bytes) goes to `vaddr`, and bytes from
/// `vaddr + data.len()` to `vaddr + memsz` are zero (.bss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
    /// `PF_X` = 1, `PF_W` = 2, `PF_R` = 4.
    pub flags: u32,
}

/// A symbol of the ELF's symbol table (functions and objects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub is_function: bool,
}

/// A RISC-V 64-bit little-endian executable, ready to load into simulated memory.
#[derive(Debug, Clone)]
pub struct Elf {
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// `e_flags` (bit 0: RVC, the C extension may be used; bits 1-2: float ABI).
    pub e_flags: u32,
    /// Address of the HTIF `tohost` word, if the program has one.
    pub tohost: Option<u64>,
    /// Address of the HTIF `fromhost` word, if the program has one.
    pub fromhost: Option<u64>,
    /// Function and object symbols, sorted by address (empty for a stripped file).
    pub symbols: Vec<Symbol>,
}

/// Reads and parses a prebuilt ELF file.
pub fn load_elf(path: &Path) -> Result<Elf> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    Elf::parse(&bytes, &path.display().to_string())
}

impl Elf {
    /// Parses ELF bytes; `what` names the file in errors. Refuses anything but a RISC-V, 64-bit,
    /// little-endian executable (`ET_EXEC`) with at least one loadable segment.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Elf> {
        use object::elf;
        use object::read::elf::{FileHeader, ProgramHeader, Sym};
        use object::Endianness;
        let bad = |reason: String| ToolchainError::BadElf {
            what: what.to_string(),
            reason,
        };
        if bytes.len() < 16 || &bytes[..4] != b"\x7fELF" {
            return Err(bad("no ELF magic number".to_string()));
        }
        if bytes[4] != elf::ELFCLASS64 {
            return Err(bad("not a 64-bit ELF file (RV64 expected)".to_string()));
        }
        if bytes[5] != elf::ELFDATA2LSB {
            return Err(bad("not little-endian".to_string()));
        }
        let hdr = elf::FileHeader64::<Endianness>::parse(bytes).map_err(|e| bad(e.to_string()))?;
        let endian = hdr.endian().map_err(|e| bad(e.to_string()))?;
        let machine = hdr.e_machine(endian);
        if machine != elf::EM_RISCV {
            return Err(bad(format!(
                "machine {machine}, not RISC-V ({})",
                elf::EM_RISCV
            )));
        }
        let ty = hdr.e_type(endian);
        if ty != elf::ET_EXEC {
            return Err(bad(format!(
                "type {}, not an executable (ET_EXEC); link it, statically, at a fixed address",
                match ty {
                    elf::ET_REL => "relocatable object".to_string(),
                    elf::ET_DYN => "shared object / position-independent executable".to_string(),
                    t => t.to_string(),
                }
            )));
        }
        let mut segments = Vec::new();
        for ph in hdr
            .program_headers(endian, bytes)
            .map_err(|e| bad(e.to_string()))?
        {
            if ph.p_type(endian) != elf::PT_LOAD {
                continue;
            }
            let memsz = ph.p_memsz(endian);
            let data = ph
                .data(endian, bytes)
                .map_err(|_| bad("a segment's file range is outside the file".to_string()))?;
            if (data.len() as u64) > memsz {
                return Err(bad(format!(
                    "segment at 0x{:x}: file size {} exceeds memory size {memsz}",
                    ph.p_vaddr(endian),
                    data.len()
                )));
            }
            if memsz == 0 {
                continue;
            }
            segments.push(Segment {
                vaddr: ph.p_vaddr(endian),
                data: data.to_vec(),
                memsz,
                flags: ph.p_flags(endian),
            });
        }
        if segments.is_empty() {
            return Err(bad("no loadable segment".to_string()));
        }
        let mut symbols = Vec::new();
        let mut tohost = None;
        let mut fromhost = None;
        let sections = hdr
            .sections(endian, bytes)
            .map_err(|e| bad(e.to_string()))?;
        let table = sections
            .symbols(endian, bytes, elf::SHT_SYMTAB)
            .map_err(|e| bad(e.to_string()))?;
        for sym in table.iter() {
            let kind = sym.st_type();
            if sym.st_shndx(endian) == elf::SHN_UNDEF
                || !(kind == elf::STT_FUNC || kind == elf::STT_OBJECT || kind == elf::STT_NOTYPE)
            {
                continue;
            }
            let Ok(name) = table.symbol_name(endian, sym) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let addr = sym.st_value(endian);
            match name {
                "tohost" => tohost = Some(addr),
                "fromhost" => fromhost = Some(addr),
                _ => {}
            }
            // Local labels ($x, .L...) and section-less markers are noise for symbolization.
            if name.is_empty() || name.starts_with(".L") || name.starts_with('$') {
                continue;
            }
            if kind == elf::STT_NOTYPE && sym.st_bind() == elf::STB_LOCAL {
                continue;
            }
            symbols.push(Symbol {
                name: name.to_string(),
                addr,
                size: sym.st_size(endian),
                is_function: kind == elf::STT_FUNC,
            });
        }
        symbols.sort_by(|a, b| a.addr.cmp(&b.addr).then_with(|| a.name.cmp(&b.name)));
        Ok(Elf {
            entry: hdr.e_entry(endian),
            segments,
            e_flags: hdr.e_flags(endian),
            tohost,
            fromhost,
            symbols,
        })
    }

    /// Writes every segment into `mem`, zero-filling each segment's memory beyond its file bytes.
    pub fn load_into(&self, mem: &mut Memory) -> Result<()> {
        for s in &self.segments {
            let err = |cause| ToolchainError::Load {
                vaddr: s.vaddr,
                memsz: s.memsz,
                cause,
            };
            mem.check(s.vaddr, s.memsz).map_err(err)?;
            mem.write(s.vaddr, &s.data).map_err(err)?;
            let zeros = [0u8; 4096];
            let mut addr = s.vaddr + s.data.len() as u64;
            let end = s.vaddr + s.memsz;
            while addr < end {
                let n = (end - addr).min(zeros.len() as u64) as usize;
                mem.write(addr, &zeros[..n]).map_err(err)?;
                addr += n as u64;
            }
        }
        Ok(())
    }

    /// The address of a symbol by name.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|s| s.name == name).map(|s| s.addr)
    }

    /// The function containing `addr`, and the offset into it (for reporting a PC as `main+0x24`).
    pub fn function_at(&self, addr: u64) -> Option<(&str, u64)> {
        self.symbols
            .iter()
            .filter(|s| s.is_function && s.addr <= addr && addr < s.addr + s.size.max(1))
            .max_by_key(|s| s.addr)
            .map(|s| (s.name.as_str(), addr - s.addr))
    }

    /// True if the file says it may contain compressed (RVC) instructions.
    pub fn uses_compressed(&self) -> bool {
        self.e_flags & object::elf::EF_RISCV_RVC != 0
    }

    /// The lowest and highest (exclusive) address any segment occupies.
    pub fn extent(&self) -> (u64, u64) {
        let lo = self.segments.iter().map(|s| s.vaddr).min().unwrap_or(0);
        let hi = self
            .segments
            .iter()
            .map(|s| s.vaddr + s.memsz)
            .max()
            .unwrap_or(0);
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let d = std::env::temp_dir().join(format!(
                "gemforge-tc-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).unwrap();
            }
            fs::write(&p, text).unwrap();
            p
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn toolchain(cache: &TempDir) -> Toolchain {
        Toolchain::new()
            .expect("riscv64-unknown-elf-gcc and picolibc (scripts/setup.sh)")
            .with_cache_dir(cache.0.join("cache"))
    }

    const HELLO: &str = r#"#include <stdio.h>
#include <stdlib.h>
int main(void) {
    char *p = malloc(32);
    printf("hello %d %s\n", 42, p ? "heap" : "none");
    return 7;
}
"#;

    /// Every instruction word in the executable segments: 32-bit (no compressed encodings) and from
    /// RV64IM + Zicsr (+ fence, ecall, ebreak, custom-3): checked on the raw words, not on a disassembler.
    fn assert_rv64im_only(elf: &Elf) {
        for sym in elf.symbols.iter().filter(|s| s.is_function && s.size > 0) {
            let seg = elf
                .segments
                .iter()
                .find(|g| {
                    g.vaddr <= sym.addr && sym.addr + sym.size <= g.vaddr + g.data.len() as u64
                })
                .unwrap_or_else(|| panic!("function {} outside the file data", sym.name));
            let off = (sym.addr - seg.vaddr) as usize;
            let code = &seg.data[off..off + sym.size as usize];
            assert_eq!(code.len() % 4, 0, "{}: size not a multiple of 4", sym.name);
            for (i, w) in code.chunks(4).enumerate() {
                let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                let at = sym.addr + 4 * i as u64;
                assert_eq!(
                    w & 3,
                    3,
                    "{}+0x{:x}: compressed or padding word 0x{w:08x}",
                    sym.name,
                    at - sym.addr
                );
                let opcode = w & 0x7f;
                let funct3 = (w >> 12) & 7;
                let funct7 = w >> 25;
                let ok = match opcode {
                    0x37 | 0x17 | 0x6f => true,                           // lui, auipc, jal
                    0x67 => funct3 == 0,                                  // jalr
                    0x63 => !matches!(funct3, 2 | 3),                     // branches
                    0x03 => funct3 != 7,                                  // loads (lb..lwu, ld)
                    0x23 => funct3 <= 3,                                  // stores
                    0x13 | 0x1b => true,                                  // op-imm, op-imm-32
                    0x33 => funct7 == 0 || funct7 == 0x20 || funct7 == 1, // op, M
                    0x3b => funct7 == 0 || funct7 == 0x20 || funct7 == 1, // op-32, M
                    0x0f => true,                                         // fence, fence.i
                    0x73 => true,                                         // ecall, ebreak, csr*
                    0x7b => true,                                         // custom-3 (RoCC)
                    _ => false,
                };
                assert!(
                    ok,
                    "{}+0x{:x}: 0x{w:08x} is not RV64IM",
                    sym.name,
                    at - sym.addr
                );
            }
        }
    }

    #[test]
    fn hello_world_compiles_to_rv64im_when_asked() {
        let d = TempDir::new("hello");
        let src = d.write("hello.c", HELLO);
        let tc = toolchain(&d).with_arch("rv64im", "lp64").unwrap();
        let out = tc
            .compile_cached(&[src], &[], &[], &HwConfig::default_config())
            .unwrap_or_else(|e| panic!("{e}"));
        let elf = &out.elf;
        assert!(!out.cache_hit);
        assert_eq!(
            elf.entry, 0x8000_0000,
            "entry is _start at the base of memory"
        );
        assert_eq!(elf.symbol("_start"), Some(0x8000_0000));
        for s in ["main", "printf", "malloc", "__gf_semihost", "_exit"] {
            assert!(elf.symbol(s).is_some(), "missing {s}");
        }
        assert!(elf.tohost.is_some() && elf.fromhost.is_some());
        assert_eq!(elf.tohost.unwrap() % 64, 0);
        assert!(!elf.uses_compressed(), "e_flags 0x{:x}", elf.e_flags);
        assert_eq!(elf.e_flags & 0x6, 0, "soft-float ABI");
        // The stack top is the end of the configured memory.
        assert_eq!(elf.symbol("__stack"), Some(0x8000_0000 + (256 << 20)));
        assert_rv64im_only(elf);
        // picolibc's and libgcc's rv64im/lp64 multilib is the one linked (seen in the link map).
        let map = d.0.join("map.txt");
        tc.clone()
            .with_extra_args([format!("-Wl,-Map={}", map.display())])
            .compile(
                &[d.0.join("hello.c")],
                &[],
                &[],
                &HwConfig::default_config(),
            )
            .unwrap();
        let map = fs::read_to_string(map).unwrap();
        for lib in [
            "picolibc/riscv64-unknown-elf/lib/rv64im/lp64/libc.a",
            "/rv64im/lp64/libgcc.a",
        ] {
            assert!(map.contains(lib), "{lib} not linked");
        }
        assert!(!map.contains("/rv64imac/") && !map.contains("/rv64imafdc/"));
        let (f, off) = elf.function_at(elf.symbol("main").unwrap() + 4).unwrap();
        assert_eq!((f, off), ("main", 4));
    }

    #[test]
    fn default_is_rv64gc_lp64d_and_the_arch_is_in_the_cache_key() {
        let d = TempDir::new("gc");
        let src = d.write("hello.c", HELLO);
        let map = d.0.join("map.txt");
        let tc = toolchain(&d);
        let gc = tc
            .clone()
            .with_extra_args([format!("-Wl,-Map={}", map.display())])
            .compile_cached(
                std::slice::from_ref(&src),
                &[],
                &[],
                &HwConfig::default_config(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(gc.elf.uses_compressed(), "e_flags 0x{:x}", gc.elf.e_flags);
        // EF_RISCV_FLOAT_ABI_DOUBLE.
        assert_eq!(gc.elf.e_flags & 0x6, 0x4, "e_flags 0x{:x}", gc.elf.e_flags);
        let map = fs::read_to_string(map).unwrap();
        assert!(
            map.contains("/rv64imafdc/lp64d/libc.a"),
            "picolibc's rv64imafdc/lp64d multilib"
        );
        // Another ISA is another cache entry.
        let im = tc
            .with_arch("rv64imac", "lp64")
            .unwrap()
            .compile_cached(&[src], &[], &[], &HwConfig::default_config())
            .unwrap();
        assert!(!im.cache_hit);
        assert_ne!(im.key, gc.key);
        assert_eq!(im.elf.e_flags & 0x6, 0, "soft-float ABI");
        // Flags that are not plain ISA / ABI strings are refused before gcc runs.
        for (march, mabi) in [
            ("rv64gc -O0", "lp64d"),
            ("rv32gc", "ilp32d"),
            ("rv64gc", "-lp64"),
        ] {
            let e = toolchain(&d)
                .with_arch(march, mabi)
                .unwrap_err()
                .to_string();
            assert!(e.contains("--march") || e.contains("--mabi"), "{e}");
        }
    }

    #[test]
    fn every_gemmini_macro_compiles_and_links() {
        let d = TempDir::new("macros");
        let src = d.write(
            "all.c",
            concat!(
                include_str!("../../sim/target/tests/all_macros.c"),
                "\nint main(void) { all_macros(0x80001000u, 3); return 0; }\n"
            ),
        );
        let tc = toolchain(&d).with_extra_args(["-Wall", "-Wextra", "-Werror"]);
        let out = tc
            .compile_cached(&[src], &[], &[], &HwConfig::default_config())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.warnings.is_empty(), "{}", out.warnings);
        let im = toolchain(&d)
            .with_arch("rv64im", "lp64")
            .unwrap()
            .with_extra_args(["-Wall", "-Wextra", "-Werror"])
            .compile_cached(&[d.0.join("all.c")], &[], &[], &HwConfig::default_config())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_rv64im_only(&im.elf);
    }

    #[test]
    fn second_compile_is_a_cache_hit_and_headers_invalidate() {
        let d = TempDir::new("cache");
        let inc = d.0.join("inc");
        d.write("inc/value.h", "#define VALUE 1\n");
        let src = d.write(
            "prog.c",
            "#include \"value.h\"\nint main(void) { return VALUE; }\n",
        );
        let tc = toolchain(&d);
        let cfg = HwConfig::default_config();
        let t = std::time::Instant::now();
        let a = tc
            .compile_cached(
                std::slice::from_ref(&src),
                std::slice::from_ref(&inc),
                &[],
                &cfg,
            )
            .unwrap();
        eprintln!("cold compile, runtime objects included: {:?}", t.elapsed());
        assert!(!a.cache_hit);
        let t = std::time::Instant::now();
        let b = tc
            .compile_cached(
                std::slice::from_ref(&src),
                std::slice::from_ref(&inc),
                &[],
                &cfg,
            )
            .unwrap();
        let hit_time = t.elapsed();
        assert!(b.cache_hit);
        assert_eq!(a.key, b.key);
        assert_eq!(a.path, b.path);
        assert_eq!(a.elf.segments, b.elf.segments);
        eprintln!("cache hit: {hit_time:?}");
        assert!(hit_time.as_millis() < 500, "cache hit took {hit_time:?}");
        // A define changes the key.
        let c = tc
            .compile_cached(
                std::slice::from_ref(&src),
                std::slice::from_ref(&inc),
                &[("X".into(), Some("2".into()))],
                &cfg,
            )
            .unwrap();
        assert!(!c.cache_hit && c.key != a.key);
        // Editing an included header recompiles; restoring it hits the first entry's ELF again.
        d.write("inc/value.h", "#define VALUE 2\n");
        let e = tc
            .compile_cached(
                std::slice::from_ref(&src),
                std::slice::from_ref(&inc),
                &[],
                &cfg,
            )
            .unwrap();
        assert!(!e.cache_hit);
        assert_ne!(e.key, a.key);
        assert_ne!(e.elf.segments, a.elf.segments);
        // A different memory size changes the link.
        let mut small = cfg.clone();
        small.memory.size_mib = 64;
        let f = tc.compile_cached(&[src], &[inc], &[], &small).unwrap();
        assert!(!f.cache_hit);
        assert_eq!(f.elf.symbol("__stack"), Some(0x8000_0000 + (64 << 20)));
    }

    #[test]
    fn concurrent_compiles_of_one_program_agree() {
        let d = TempDir::new("conc");
        let src = d.write("p.c", "int main(void) { return 3; }\n");
        let tc = toolchain(&d);
        let cfg = HwConfig::default_config();
        let outs: Vec<CompileOutput> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        tc.compile_cached(std::slice::from_ref(&src), &[], &[], &cfg)
                            .unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for o in &outs {
            assert_eq!(o.key, outs[0].key);
            assert_eq!(o.elf.segments, outs[0].elf.segments);
            let again = load_elf(&o.path).unwrap();
            assert_eq!(again.segments, outs[0].elf.segments);
        }
    }

    #[test]
    fn syntax_error_is_reported_verbatim() {
        let d = TempDir::new("syntax");
        let src = d.write("bad.c", "int main(void) {\n    return 0\n}\n");
        let tc = toolchain(&d);
        let err = tc
            .compile(
                std::slice::from_ref(&src),
                &[],
                &[],
                &HwConfig::default_config(),
            )
            .unwrap_err();
        let ToolchainError::Compile { stderr, .. } = &err else {
            panic!("{err:?}");
        };
        // The same message gcc prints when run by hand.
        let by_hand = Command::new(tc.gcc())
            .args(tc.arch_flags())
            .args(LIBC_FLAGS)
            .args(["-O2", "-fsyntax-only"])
            .arg(&src)
            .output()
            .unwrap();
        let by_hand = String::from_utf8_lossy(&by_hand.stderr);
        assert!(
            stderr.contains("bad.c:2:13: error: expected ';' before '}' token"),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end(), by_hand.trim_end());
        assert_eq!(err.to_string(), stderr.trim_end());
        // A link error (undefined function) is reported verbatim too.
        let src = d.write(
            "undef.c",
            "void nowhere(void);\nint main(void) { nowhere(); return 0; }\n",
        );
        let err = tc
            .compile(&[src], &[], &[], &HwConfig::default_config())
            .unwrap_err()
            .to_string();
        assert!(err.contains("undefined reference to `nowhere'"), "{err}");
    }

    #[test]
    fn user_include_dirs_take_precedence() {
        let d = TempDir::new("prec");
        let cfg = HwConfig::default_config();
        let tc = toolchain(&d);
        let src = d.write(
            "p.c",
            "#include \"gemmini.h\"\n\
             #ifndef USER_GEMMINI\n#error bundled gemmini.h was used\n#endif\n\
             int main(void) { return DIM; }\n",
        );
        // Without the user directory the bundled header is found and the #error fires.
        let err = tc
            .compile(std::slice::from_ref(&src), &[], &[], &cfg)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bundled gemmini.h was used"), "{err}");
        // A user gemmini.h wins over the bundled one; its own #include of gemmini_params.h still
        // finds the generated one...
        let user = d.0.join("user");
        d.write(
            "user/gemmini.h",
            "#define USER_GEMMINI 1\n#include \"gemmini_params.h\"\n",
        );
        tc.compile(
            std::slice::from_ref(&src),
            std::slice::from_ref(&user),
            &[],
            &cfg,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // ...unless the user brings a params file too: the bundled gemmini.h then includes the user's.
        let src2 = d.write(
            "q.c",
            "#include <gemmini.h>\n\
             #if DIM != 4\n#error generated params were used\n#endif\n\
             int main(void) { gemmini_flush(0); return 0; }\n",
        );
        let params = d.0.join("params");
        let generated = cfg
            .gemmini_params_h()
            .replace("#define DIM 16", "#define DIM 4");
        d.write("params/gemmini_params.h", &generated);
        tc.compile(std::slice::from_ref(&src2), &[params], &[], &cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = tc.compile(&[src2], &[], &[], &cfg).unwrap_err().to_string();
        assert!(err.contains("generated params were used"), "{err}");
    }

    #[test]
    fn several_sources_and_defines() {
        let d = TempDir::new("multi");
        let a = d.write(
            "a.c",
            "int twice(int x);\nint main(void) { return twice(K); }\n",
        );
        let b = d.write("b.c", "int twice(int x) { return 2 * x; }\n");
        let tc = toolchain(&d);
        let cfg = HwConfig::default_config();
        let err = tc
            .compile(&[a.clone(), b.clone()], &[], &[], &cfg)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'K' undeclared"), "{err}");
        let elf = tc
            .compile(&[a, b], &[], &[("K".into(), Some("21".into()))], &cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(elf.symbol("twice").is_some() && elf.symbol("main").is_some());
    }

    #[test]
    fn elf_loading() {
        let d = TempDir::new("load");
        let src = d.write(
            "p.c",
            "const char msg[] = \"marker-string\";\nint zeros[4096];\nvolatile int i;\n\
             int main(void) { return msg[i] + zeros[i]; }\n",
        );
        let tc = toolchain(&d);
        let out = tc
            .compile_cached(&[src], &[], &[], &HwConfig::default_config())
            .unwrap();
        let elf = load_elf(&out.path).unwrap();
        assert_eq!(elf.entry, out.elf.entry);
        let mut mem = Memory::new(crate::sim::mem::DEFAULT_BASE, 256 << 20);
        // Pre-dirty the .bss so that zero-filling is observable.
        let zeros = elf.symbol("zeros").unwrap();
        mem.write(zeros, &[0xAA; 64]).unwrap();
        elf.load_into(&mut mem).unwrap();
        let mut buf = [0u8; 13];
        mem.read(elf.symbol("msg").unwrap(), &mut buf).unwrap();
        assert_eq!(&buf, b"marker-string");
        let mut z = [0xffu8; 64];
        mem.read(zeros, &mut z).unwrap();
        assert_eq!(z, [0u8; 64]);
        let mut first = [0u8; 4];
        mem.read(elf.entry, &mut first).unwrap();
        let text = &elf.segments[0];
        assert_eq!(&first, &text.data[..4]);
        // Memory too small for the image.
        let mut tiny = Memory::new(crate::sim::mem::DEFAULT_BASE, 4096);
        let err = elf.load_into(&mut tiny).unwrap_err().to_string();
        assert!(err.contains("does not fit main memory"), "{err}");
        // Not RISC-V / not ELF / not an executable.
        let host = std::env::current_exe().unwrap();
        let err = load_elf(&host).unwrap_err().to_string();
        assert!(
            err.contains("not RISC-V") || err.contains("not little-endian"),
            "{err}"
        );
        let err = Elf::parse(b"hello world, not an elf", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no ELF magic"), "{err}");
        let obj = d.0.join("o.o");
        let st = Command::new(tc.gcc())
            .args(tc.arch_flags())
            .args(["-c", "-x", "c", "-", "-o"])
            .arg(&obj)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(b"int f(void){return 1;}\n")?;
                c.wait()
            })
            .unwrap();
        assert!(st.success());
        let err = load_elf(&obj).unwrap_err().to_string();
        assert!(err.contains("relocatable object"), "{err}");
    }

    #[test]
    fn depfile_parsing() {
        let t = "o.o: /a/b.c /x/y\\ z.h \\\n /c/d.h\n/x/y\\ z.h:\n/c/d.h:\n";
        assert_eq!(
            parse_depfile(t),
            vec![
                PathBuf::from("/a/b.c"),
                PathBuf::from("/x/y z.h"),
                PathBuf::from("/c/d.h")
            ]
        );
    }

    #[test]
    fn missing_compiler_names_setup_script() {
        let err = Toolchain::with_gcc(PathBuf::from("/nonexistent/riscv64-unknown-elf-gcc"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("scripts/setup.sh"), "{err}");
    }
}
