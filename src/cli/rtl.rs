//! `gemforge rtl`: build, list and clean the RTL variants cached for non-default configurations (the
//! building lives in sim::accel::variant).

use crate::sim::accel::variant::{cache_root, clean, ensure_built, list};
use crate::sim::config::HwConfig;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RtlArgs {
    /// build: build the given configurations' variants now; list: show the cached variants; clean: remove
    /// them all.
    #[arg(value_enum)]
    pub action: RtlAction,
    /// Hardware configurations (TOML), for `build`.
    pub configs: Vec<PathBuf>,
    /// Print one JSON value instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: RtlArgs, quiet: bool) -> Result<ExitCode> {
    print!("{}", render(a.action, &a.configs, a.json, quiet)?);
    if a.json {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// What `gemforge rtl` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RtlAction {
    /// Build the variants of the given configurations now (each at most once; cached ones are skipped).
    Build,
    /// List the cached variants.
    List,
    /// Remove every cached variant.
    Clean,
}

/// The text (or JSON) to print for one action.
fn render(action: RtlAction, configs: &[PathBuf], json: bool, quiet: bool) -> Result<String> {
    let root = cache_root();
    let mut out = String::new();
    match action {
        RtlAction::Build => {
            if configs.is_empty() {
                bail!("`gemforge rtl build` needs at least one configuration file");
            }
            let mut rows = Vec::new();
            for p in configs {
                let cfg = HwConfig::from_file(p)?;
                let linked = cfg.rtl_fingerprint()
                    == crate::sim::accel::rtl::build_info::BUILT_RTL_FINGERPRINT;
                let (lib, built) = if linked {
                    log::info!(
                        "rtl `{}` ({}): its RTL is the model linked into this binary, nothing to build",
                        cfg.name,
                        p.display()
                    );
                    (None, false)
                } else {
                    let progress = !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
                    let (lib, built) = ensure_built(&cfg, &root, progress)
                        .with_context(|| format!("configuration {}", p.display()))?;
                    (Some(lib), built)
                };
                rows.push((p.display().to_string(), cfg.name.clone(), lib, built));
            }
            if json {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(p, name, lib, built)| {
                        serde_json::json!({"config": p, "name": name, "linked": lib.is_none(),
                            "library": lib.as_ref().map(|l| l.display().to_string()), "built": built})
                    })
                    .collect();
                out = serde_json::Value::Array(v).to_string();
            } else {
                for (p, name, lib, built) in rows {
                    let what = match (lib, built) {
                        (None, _) => "linked into this binary (nothing to build)".to_string(),
                        (Some(l), true) => format!("built {}", l.display()),
                        (Some(l), false) => format!("cached {}", l.display()),
                    };
                    out.push_str(&format!("{p} (`{name}`): {what}\n"));
                }
            }
        }
        RtlAction::List => {
            let vs = list(&root)?;
            if json {
                let v: Vec<serde_json::Value> = vs
                    .iter()
                    .map(|c| {
                        serde_json::json!({"key": c.meta.key, "config_name": c.meta.config_name,
                            "dim": c.meta.dim, "dir": c.dir.display().to_string(), "bytes": c.bytes,
                            "build_seconds": c.meta.build_seconds, "verilator": c.meta.verilator})
                    })
                    .collect();
                out = serde_json::Value::Array(v).to_string();
            } else if vs.is_empty() {
                out = format!("no RTL variants cached in {}\n", root.display());
            } else {
                out.push_str(&format!("RTL variants in {}:\n", root.display()));
                out.push_str("key               config               DIM   size MB  built in\n");
                for c in vs {
                    out.push_str(&format!(
                        "{:<17} {:<20} {:>3} {:>9.1} {:>7.0} s\n",
                        &c.meta.key[..16],
                        c.meta.config_name,
                        c.meta.dim,
                        c.bytes as f64 / 1e6,
                        c.meta.build_seconds
                    ));
                }
            }
        }
        RtlAction::Clean => {
            if !configs.is_empty() {
                bail!(
                    "`gemforge rtl clean` takes no configuration files (it removes every variant)"
                );
            }
            let n = clean(&root)?;
            out = if json {
                serde_json::json!({"removed": n}).to_string()
            } else {
                format!("removed {n} RTL variant(s) from {}\n", root.display())
            };
        }
    }
    Ok(out)
}
