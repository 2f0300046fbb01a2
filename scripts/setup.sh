#!/usr/bin/env bash
# System packages gemforge needs (Debian/Ubuntu): Verilator and a C++ toolchain for the RTL model
# (build.rs), libclang for bindgen, zlib/lz4 for FST waveforms, and the RISC-V GCC + picolibc that
# compile the programs run on the simulated hart. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  verilator            # >= 5.006; build.rs verilates rtl/
  make g++ binutils    # C++ compiler and ar for the Verilated model and the shim
  libclang-dev         # bindgen (the Rust bindings of sim/verilator/gf_shim.h)
  zlib1g-dev           # FST waveforms (traced model)
  liblz4-dev           # FST waveforms with Verilator releases after 5.006
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
  cmake                # the c99 crate's build script (used by softfloat-sys, the hart's FPU)
  chromium             # headless screenshot test of `gemforge report --html` (an #[ignore]d test)
  slurm-wlm munge      # a one-node Slurm cluster for --executor slurm and its tests (scripts/slurm-local.sh)
  python3 jq           # tests/bench/autocomp.rs runs the Autocomp adapter's unittests; scripts/*.sh read JSON
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "setup.sh: not root and no sudo; install these packages by hand: ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all system packages present"
fi

echo "--- versions"
verilator --version
g++ --version | head -n 1
riscv64-unknown-elf-gcc --version | head -n 1
dpkg-query -W -f='${Package} ${Version}\n' libclang-dev picolibc-riscv64-unknown-elf zlib1g-dev liblz4-dev slurm-wlm munge
if command -v cargo >/dev/null 2>&1; then cargo --version; fi
