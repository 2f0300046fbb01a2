//! `gemforge config`: validate a hardware configuration and print what it derives.

use super::load_config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ConfigArgs {
    /// The TOML file [default: the bundled rtl/configs/default.toml]
    pub file: Option<PathBuf>,
}

pub fn run(a: ConfigArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(a.file.as_ref())?;
    println!("configuration `{}` is valid", cfg.name);
    println!(
        "  DIM {} ({} dataflows), {} inputs with {} accumulation",
        cfg.dim(),
        if cfg.has_os() { "OS and WS" } else { "WS only" },
        cfg.array.input_type,
        cfg.array.acc_type
    );
    println!(
        "  scratchpad {} rows in {} banks of {}",
        cfg.sp_rows(),
        cfg.scratchpad.banks,
        cfg.sp_bank_rows()
    );
    println!(
        "  accumulator {} rows in {} banks of {}",
        cfg.acc_rows(),
        cfg.accumulator.banks,
        cfg.acc_bank_rows()
    );
    println!(
        "  local-address row field {} bits; MAX_BLOCK_LEN {}, MAX_BLOCK_LEN_ACC {}",
        cfg.local_addr_row_bits(),
        cfg.max_block_len(),
        cfg.max_block_len_acc()
    );
    println!(
        "  normalizer (LayerNorm, iGELU, Softmax): {}",
        if cfg.array.has_normalizations {
            "yes"
        } else {
            "no"
        }
    );
    Ok(ExitCode::SUCCESS)
}
