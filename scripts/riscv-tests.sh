#!/usr/bin/env bash
# Build the official RISC-V ISA tests from a user's checkout of riscv-software-src/riscv-tests (with
# riscv/riscv-test-env as its env/ submodule) and run each on gemforge's hart, the way Spike runs them:
# the `p` environment (physical memory, machine mode), HTIF `tohost` for the result (1 = pass,
# (n << 1) | 1 = test case n failed). Prints one line per test and a final "N passed, M failed".
#
# Usage: scripts/riscv-tests.sh RISCV_TESTS_CHECKOUT [SUITE...]
#   SUITE defaults to: rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64mi
#   The extra suite `benchmarks` builds riscv-tests' single-hart benchmarks (median, qsort, ..., dhrystone)
#   with their own crt.S, syscalls.c (printf through the HTIF syscall proxy) and test.ld, rv64gc/lp64d,
#   with picolibc's headers standing in for newlib's; a benchmark passes when it exits 0 (each checks its
#   own result). The multi-hart (mt-*), pmp and vector ones do not apply to a one-hart RV64GC core.
# Environment: GEMFORGE (default: target/release/gemforge next to this script's repository),
#   RISCV_GCC (default: riscv64-unknown-elf-gcc), BUILD_DIR (default: a fresh temporary directory),
#   MAX_CYCLES per test (default 20000000).
#
# Nothing of riscv-tests is copied into this repository: the tests are compiled from the checkout into
# BUILD_DIR. The compile flags are those of riscv-tests' isa/Makefile for the p environment.
#
# Tests of features the hart does not have would be skipped, with the reason printed (none at present:
# since the hart has PMP, rv64mi-p-pmpaddr runs too). Set NO_SKIP=1 to run them anyway.
set -euo pipefail

die() {
    echo "riscv-tests.sh: $*" >&2
    exit 2
}

[ $# -ge 1 ] || die "usage: $0 RISCV_TESTS_CHECKOUT [SUITE...]"
checkout=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such directory"
shift
[ -f "$checkout/isa/rv64ui/Makefrag" ] ||
    die "$checkout is not a riscv-tests checkout (no isa/rv64ui/Makefrag)"
[ -f "$checkout/env/p/riscv_test.h" ] ||
    die "$checkout/env is empty: check out its submodule (git submodule update --init env, riscv/riscv-test-env)"

repo=$(cd "$(dirname "$0")/.." && pwd)
gemforge=${GEMFORGE:-$repo/target/release/gemforge}
[ -x "$gemforge" ] || die "$gemforge not found: run cargo build --release (or set GEMFORGE)"
gcc=${RISCV_GCC:-riscv64-unknown-elf-gcc}
command -v "$gcc" >/dev/null || die "$gcc not found: run scripts/setup.sh"
build=${BUILD_DIR:-$(mktemp -d -t gemforge-riscv-tests.XXXXXX)}
mkdir -p "$build"
max_cycles=${MAX_CYCLES:-20000000}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64mi)

# Tests of features the hart does not have.
declare -A skip=()
[ -z "${NO_SKIP:-}" ] || skip=()

passed=0
failed=0
skipped=0
failures=()
# riscv-tests' benchmarks: compiled as benchmarks/Makefile does (its RISCV_GCC_OPTS and RISCV_LINK_OPTS).
run_benchmarks() {
    local bdir="$checkout/benchmarks" pinc plib list b elf
    pinc=/usr/lib/picolibc/riscv64-unknown-elf/include
    plib=/usr/lib/picolibc/riscv64-unknown-elf/lib/$("$gcc" -march=rv64gc -mabi=lp64d -print-multi-directory)
    [ -d "$pinc" ] && [ -f "$plib/libm.a" ] ||
        die "picolibc for rv64gc/lp64d not found ($pinc, $plib): run scripts/setup.sh"
    list=$(printf 'include %s\nprint:\n\t@echo $(base_bmarks)\n' "$bdir/Makefile" |
        make -s -f - print src_dir="$bdir" 2>/dev/null) || die "cannot read the benchmark list"
    for b in $list; do
        case $b in mt-* | pmp) echo "skip benchmark $b (needs several harts or PMP)"; skipped=$((skipped + 1)); continue ;; esac
        elf="$build/bench-$b.riscv"
        # shellcheck disable=SC2046
        if ! "$gcc" -I"$checkout/env" -I"$bdir/common" -I"$bdir/$b" -isystem "$pinc" -U_FORTIFY_SOURCE \
            -DPREALLOCATE=1 -mcmodel=medany -static -std=gnu99 -O2 -ffast-math -fno-common \
            -fno-builtin-printf -fno-tree-loop-distribute-patterns -Wno-implicit-int \
            -Wno-implicit-function-declaration -mabi=lp64d -march=rv64gc -o "$elf" \
            $(ls "$bdir/$b"/*.c "$bdir/$b"/*.S "$bdir"/common/*.c "$bdir"/common/*.S 2>/dev/null) \
            -nostdlib -nostartfiles -L"$plib" -lm -lgcc -T "$bdir/common/test.ld" >"$elf.log" 2>&1; then
            echo "FAIL benchmark $b (does not compile: see $elf.log)"
            failed=$((failed + 1))
            continue
        fi
        if "$gemforge" run --engine spec --max-cycles 2000000000 "$elf" >"$elf.out" 2>&1; then
            echo "pass benchmark $b ($(grep -m1 -o 'mcycle = [0-9]*' "$elf.out" || true))"
            passed=$((passed + 1))
        else
            echo "FAIL benchmark $b ($(grep -E -m1 '^(exit code|error)' "$elf.out"))"
            failed=$((failed + 1))
        fi
    done
}

for suite in "${suites[@]}"; do
    if [ "$suite" = benchmarks ]; then
        run_benchmarks
        continue
    fi
    frag="$checkout/isa/$suite/Makefrag"
    [ -f "$frag" ] || die "no suite $suite ($frag missing)"
    # The test list, as the Makefrag defines it (make expands it).
    tests=$(printf 'include %s\nprint:\n\t@echo $(%s_sc_tests)\n' "$frag" "$suite" | make -s -f - print)
    for t in $tests; do
        name="$suite-p-$t"
        if [ -n "${skip[$name]:-}" ]; then
            echo "skip $name (${skip[$name]})"
            skipped=$((skipped + 1))
            continue
        fi
        elf="$build/$name"
        if ! "$gcc" -march=rv64g -mabi=lp64d -static -mcmodel=medany -fvisibility=hidden -nostdlib \
            -nostartfiles -I"$checkout/env/p" -I"$checkout/isa/macros/scalar" \
            -T"$checkout/env/p/link.ld" "$checkout/isa/$suite/$t.S" -o "$elf" 2>"$elf.log"; then
            echo "FAIL $name (does not compile: see $elf.log)"
            failed=$((failed + 1))
            failures+=("$name")
            continue
        fi
        if "$gemforge" run --engine spec --max-cycles "$max_cycles" "$elf" >"$elf.out" 2>&1; then
            echo "pass $name"
            passed=$((passed + 1))
        else
            why=$(grep -E '^(exit code|error)' "$elf.out" | head -1)
            echo "FAIL $name (${why:-see $elf.out})"
            failed=$((failed + 1))
            failures+=("$name")
        fi
    done
done
echo "build directory: $build"
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
