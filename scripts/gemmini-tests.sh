#!/usr/bin/env bash
# Runs Gemmini's own bareMetalC test suite, unchanged, on gemforge's RTL.
#
# Usage: scripts/gemmini-tests.sh [--apps] PATH [TEST...]
#   PATH  a checkout of ucb-bar/gemmini-rocc-tests (it needs bareMetalC/ and include/; the riscv-tests
#         submodule is not needed). Nothing of it is copied into this repository: every test is compiled
#         from the user's checkout against the checkout's own include/gemmini.h.
#   TEST  optional test names; by default every test that PATH/bareMetalC/Makefile lists under `tests =`.
#   --apps also runs the application programs mlps/mlp1.c .. mlp4.c and transformers/transformer.c.
# The checkout's gemmini_params.h describes Gemmini's default configuration, which has no normalizer; when
# gemforge's configuration has one (has_normalizations, as by default), the two macros Gemmini's generator
# writes for such a configuration, HAS_NORMALIZATIONS and NORM_STAT_IDS=2, are passed with -D, so the
# *_layernorm, *_softmax and *_igelu tests run their bodies and tiled_norm uses the normalizer.
# Environment: GEMFORGE (the binary; default target/release/gemforge next to this script),
#   GEMFORGE_ENGINE (rtl, the default, or spec), GEMFORGE_MAX_CYCLES (default 200000000),
#   GEMMINI_TESTS_EXTRA (extra programs relative to PATH, e.g. "mlps/mlp1.c transformers/transformer.c").
# Prints one line per test (pass/FAIL, cycles, and the cause of a failure) and a total line
# "N passed, M failed". Exit status: 0 when every test passed, 1 otherwise, 2 on bad usage.
set -u

here="$(cd "$(dirname "$0")/.." && pwd)"
gemforge="${GEMFORGE:-$here/target/release/gemforge}"
engine="${GEMFORGE_ENGINE:-rtl}"
max_cycles="${GEMFORGE_MAX_CYCLES:-200000000}"

apps=0
if [ "${1:-}" = "--apps" ]; then
    apps=1
    shift
fi
if [ $# -lt 1 ]; then
    echo "usage: $0 [--apps] PATH-TO-gemmini-rocc-tests [TEST...]" >&2
    exit 2
fi
root="$(cd "$1" 2>/dev/null && pwd)" || { echo "error: $1 is not a directory" >&2; exit 2; }
shift
mk="$root/bareMetalC/Makefile"
if [ ! -f "$mk" ] || [ ! -f "$root/include/gemmini.h" ]; then
    echo "error: $root is not a gemmini-rocc-tests checkout (needs bareMetalC/Makefile and include/gemmini.h)" >&2
    exit 2
fi
if [ ! -x "$gemforge" ]; then
    echo "error: $gemforge not found; run 'cargo build --release' first or set GEMFORGE" >&2
    exit 2
fi
command -v jq >/dev/null || { echo "error: jq is needed to read gemforge's JSON report" >&2; exit 2; }
norm_defs=()
if "$gemforge" config "$here/rtl/configs/default.toml" | grep -q 'normalizer (LayerNorm, iGELU, Softmax): yes'; then
    norm_defs=(-D HAS_NORMALIZATIONS -D NORM_STAT_IDS=2)
fi

if [ $# -gt 0 ]; then
    progs=()
    for t in "$@"; do progs+=("bareMetalC/$t.c"); done
else
    # The names between "tests = \" and the first line that does not continue the list.
    mapfile -t names < <(awk '/^tests[ \t]*=/ {on=1; next} on { gsub(/\\/, ""); n=split($0, w, /[ \t]+/);
        for (i = 1; i <= n; i++) if (w[i] != "") print w[i]; if ($0 !~ /[^ \t]/ || $0 ~ /^[^ \t]/) on=0 }' "$mk")
    if [ ${#names[@]} -eq 0 ]; then
        echo "error: found no 'tests =' list in $mk" >&2
        exit 2
    fi
    progs=()
    for t in "${names[@]}"; do progs+=("bareMetalC/$t.c"); done
fi
if [ $apps -eq 1 ]; then
    progs+=(mlps/mlp1.c mlps/mlp2.c mlps/mlp3.c mlps/mlp4.c transformers/transformer.c)
fi
for e in ${GEMMINI_TESTS_EXTRA:-}; do progs+=("$e"); done

pass=0
fail=0
failed=()
for p in "${progs[@]}"; do
    name="${p%.c}"
    src="$root/$p"
    if [ ! -f "$src" ]; then
        printf '%-48s FAIL  missing %s\n' "$name" "$src"
        fail=$((fail + 1)); failed+=("$name"); continue
    fi
    out="$("$gemforge" run "$src" -I "$root" -I "$root/include" -I "$(dirname "$src")" -D BAREMETAL=1 "${norm_defs[@]}" \
        --engine "$engine" --max-cycles "$max_cycles" --json 2>&1)"
    json="$(printf '%s\n' "$out" | grep '^{' | tail -n 1)"
    if [ -z "$json" ]; then
        printf '%-48s FAIL  no report: %s\n' "$name" "$(printf '%s' "$out" | tail -n 1)"
        fail=$((fail + 1)); failed+=("$name"); continue
    fi
    code="$(jq -r '.exit_code // "none"' <<<"$json")"
    cycles="$(jq -r '.cycles // "-"' <<<"$json")"
    err="$(jq -r 'if .error then "\(.error.kind): \(.error.message)" else "" end' <<<"$json" | head -c 300)"
    if [ "$code" = "0" ] && [ -z "$err" ]; then
        printf '%-48s pass  %12s cycles\n' "$name" "$cycles"
        pass=$((pass + 1))
    else
        if [ -z "$err" ]; then
            err="exit code $code; last output: $(jq -r '.stdout' <<<"$json" | tail -n 2 | tr '\n' ' ' | head -c 200)"
        fi
        printf '%-48s FAIL  %12s cycles  %s\n' "$name" "$cycles" "$(printf '%s' "$err" | tr '\n' ' ')"
        fail=$((fail + 1)); failed+=("$name")
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
exit 0
