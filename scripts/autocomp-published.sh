#!/usr/bin/env bash
# Evaluates Autocomp's published Gemmini programs, unchanged, with `gemforge eval` on gemforge's RTL.
#
# Usage: scripts/autocomp-published.sh PATH [GROUP...]
#   PATH   a checkout of ucb-bar/autocomp (its sols/ directory is read; nothing is copied into this repository).
#   GROUP  admm-multifunction (the default), exo, exo-conv or gemm: which problem types to evaluate.
#          admm-multifunction runs on rtl/configs/fp32_4x4.toml, the others on rtl/configs/default.toml
#          (the int8 ones take minutes each on the RTL).
# Environment: GEMFORGE (the binary; default target/release/gemforge next to this script),
#   SEEDS (input seeds, default "1 2 3": each program is evaluated once per seed, the median cycles printed).
# Prints one line per program (verdict, median cycles over the seeds, the first failure's detail) and, per
# problem, the ratio of each program's cycles to the problem's fastest correct published program.
# Which gemforge workload judges which problem: `gemforge workloads --autocomp`.
# Exit status: 0 when every program was evaluated (whatever the verdicts), 2 on bad usage or a tool error.
set -u

here="$(cd "$(dirname "$0")/.." && pwd)"
gemforge="${GEMFORGE:-$here/target/release/gemforge}"
seeds="${SEEDS:-1 2 3}"

if [ $# -lt 1 ]; then
    echo "usage: $0 PATH-TO-autocomp [admm-multifunction|exo|exo-conv|gemm ...]" >&2
    exit 2
fi
root="$(cd "$1" 2>/dev/null && pwd)" || { echo "error: $1 is not a directory" >&2; exit 2; }
shift
[ -d "$root/sols" ] || { echo "error: $root has no sols/ directory: not a checkout of ucb-bar/autocomp" >&2; exit 2; }
[ -x "$gemforge" ] || { echo "error: $gemforge not found; run 'cargo build --release' first or set GEMFORGE" >&2; exit 2; }
command -v jq >/dev/null || { echo "error: jq is needed to read gemforge's JSON verdicts" >&2; exit 2; }
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(admm-multifunction)

map="$("$gemforge" workloads --autocomp --json)" || { echo "error: gemforge workloads --autocomp failed" >&2; exit 2; }

printf '%-20s %-28s %-20s %-14s %10s  %s\n' "prob_type/id" "program" "workload" "verdict" "cycles" "detail"
for group in "${groups[@]}"; do
    [ -d "$root/sols/$group" ] || { echo "error: $root/sols/$group does not exist" >&2; exit 2; }
    for id in $(echo "$map" | jq -r --arg g "$group" '.[] | select(.prob_type == $g) | .prob_id'); do
        row="$(echo "$map" | jq -c --arg g "$group" --argjson i "$id" '.[] | select(.prob_type == $g and .prob_id == $i)')"
        workload="$(echo "$row" | jq -r .workload)"
        config="$(echo "$row" | jq -r .config)"
        case "$config" in /*) ;; *) config="$here/$config" ;; esac
        results=()
        for f in "$root/sols/$group"/sol"$id"_*.c; do
            [ -f "$f" ] || continue
            name="$(basename "$f")"
            cycles=()
            verdict=correct
            detail=""
            for s in $seeds; do
                # A whole published program for a whole-function workload is evaluated as is; gemforge
                # takes the body of admm-multifunction candidates itself, as Autocomp does.
                v="$("$gemforge" eval -q --json --seed "$s" --workload "$workload" --config "$config" "$f")"
                ok="$(echo "$v" | jq -r .correct)"
                if [ "$ok" != "true" ]; then
                    verdict="$(echo "$v" | jq -r '.failure // "error"')"
                    detail="$(echo "$v" | jq -r '.detail // ""' | head -c 160 | tr '\n' ' ')"
                    break
                fi
                cycles+=("$(echo "$v" | jq -r .cycles)")
            done
            med="-"
            if [ "$verdict" = correct ]; then
                med="$(printf '%s\n' "${cycles[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
                results+=("$name $med")
            fi
            printf '%-20s %-28s %-20s %-14s %10s  %s\n' "$group $id" "$name" "$workload" "$verdict" "$med" "$detail"
        done
        if [ ${#results[@]} -gt 1 ]; then
            best="$(printf '%s\n' "${results[@]}" | sort -k2 -n | head -1)"
            printf '%s\n' "${results[@]}" | sort -k2 -n -r | awk -v b="$best" -v p="$group $id" '
                BEGIN { split(b, x, " ") }
                { printf "  %s: %s = %.2fx the cycles of %s\n", p, $1, $2 / x[2], x[1] }'
        fi
    done
done
