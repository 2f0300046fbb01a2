#!/usr/bin/env bash
# The schedule-reuse benchmark (issue 16; method in docs/search.md, "The reuse benchmark"). For each pair
# SOURCE:TARGET it runs the source search once (seed 1, the default budget), then the target search with
# and without `--reuse-from SOURCE_RUN` at a sample budget (`--max-evaluations`, 100 by default, with
# enough iterations that the budget, not T, ends both) for each seed, every run with an empty verdict
# cache of its own, and prints a markdown table built from the run directories' journals: best cycles
# with reuse and without, the improvement, the best after the first K candidates, medians, evaluated
# candidates and wall times.
#
# It is resumable: a run whose journal has its `finish` event is not run again (its wall time is read from
# the file the script wrote when it ran it); an interrupted run is continued with `--resume`. So the same
# command can be started again after a kill, or on a tree with a new proposer into a new --out directory.
#
# Usage: scripts/reuse-bench.sh [options] [SOURCE:TARGET ...]
#   --out DIR          where runs, caches and wall times go [runs/reuse-bench]
#   --seeds "1 2 3"    seeds of the target searches [1 2 3]
#   --budget N         --max-evaluations of the target searches [100]
#   --target-iterations T   --iterations of the target searches [30: the budget ends them, not T]
#   --checkpoints "25 50"   also show the best after the first K candidates of each run [25 50]
#   --bin FILE         the gemforge executable [target/release/gemforge]
#   --source-run SOURCE=DIR   use an existing finished run of SOURCE instead of running one (repeatable)
#   --source-args "..." extra options of the source searches (e.g. a smaller budget for a quick try)
#   --target-args "..." extra options of the target searches
# Default pairs: the paper's gemm_1024x1024x1024:gemm_512x512x512 and gemm_12544x256x64:gemm_12544x128x64,
# and ours: gemm_12544x256x64:resnet50_c2_1x1_64_64 (ResNet-50 conv2_x, the 64->256 expand layer's schedule
# on the 64->64 reduce layer) and gemm_64x1024x1024:gemm_32x1024x1024 (the batch halved).
# The table goes to stdout (and DIR/table.md); progress to stderr. Needs bash and jq.
set -euo pipefail

die() {
    echo "reuse-bench: error: $*" >&2
    exit 2
}
note() { echo "reuse-bench: $*" >&2; }

out=runs/reuse-bench
seeds="1 2 3"
budget=100
target_iterations=30
checkpoints="25 50"
bin=target/release/gemforge
source_args=""
target_args=""
declare -A source_run=()
pairs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --seeds) seeds=${2:?--seeds needs a list such as \"1 2 3\"}; shift 2 ;;
        --budget) budget=${2:?--budget needs a number}; shift 2 ;;
        --target-iterations) target_iterations=${2:?--target-iterations needs a number}; shift 2 ;;
        --bin) bin=${2:?--bin needs a file}; shift 2 ;;
        --checkpoints) checkpoints=${2?}; shift 2 ;;
        --source-args) source_args=${2?}; shift 2 ;;
        --target-args) target_args=${2?}; shift 2 ;;
        --source-run)
            spec=${2:?--source-run needs SOURCE=DIR}
            [[ "$spec" == *=* ]] || die "--source-run $spec: expected SOURCE=DIR"
            source_run[${spec%%=*}]=${spec#*=}
            shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) pairs+=("$1"); shift ;;
    esac
done
command -v jq >/dev/null || die "jq is not installed (scripts/setup.sh installs it)"
[ -x "$bin" ] || die "$bin is not an executable; build it with cargo build --release or give --bin"
[[ "$budget" =~ ^[1-9][0-9]*$ ]] || die "--budget $budget: expected a whole number of at least 1"
[[ "$target_iterations" =~ ^[1-9][0-9]*$ ]] ||
    die "--target-iterations $target_iterations: expected a whole number of at least 1"
for s in $seeds; do
    [[ "$s" =~ ^[0-9]+$ ]] || die "--seeds: $s is not a whole number"
done
[ -n "${seeds// }" ] || die "--seeds is empty"
for k in $checkpoints; do
    [[ "$k" =~ ^[1-9][0-9]*$ ]] || die "--checkpoints: $k is not a whole number of at least 1"
done
if [ ${#pairs[@]} -eq 0 ]; then
    pairs=(gemm_1024x1024x1024:gemm_512x512x512 gemm_12544x256x64:gemm_12544x128x64
        gemm_12544x256x64:resnet50_c2_1x1_64_64 gemm_64x1024x1024:gemm_32x1024x1024)
fi
for p in "${pairs[@]}"; do
    [[ "$p" =~ ^[A-Za-z0-9_]+:[A-Za-z0-9_]+$ ]] || die "pair $p: expected SOURCE:TARGET (workload names)"
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
main_cache=${GEMFORGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gemforge}
[ -d "$main_cache/rtl" ] ||
    note "warning: $main_cache/rtl does not exist; every run builds its Verilated model variants anew"

# A finished run has a `finish` event in its journal.
finished() { [ -f "$1/journal.jsonl" ] && jq -e 'select(.event == "finish")' "$1/journal.jsonl" >/dev/null 2>&1; }

load() { cut -d' ' -f1-3 /proc/loadavg; }

# run ID DIR ARGS...: one search in DIR with a fresh verdict cache; skipped when DIR already finished.
run() {
    local id=$1 dir=$2
    shift 2
    if finished "$dir"; then
        note "$id: finished before, not run again ($dir)"
        return 0
    fi
    local cache="$out/cache/$id"
    rm -rf "$cache"
    mkdir -p "$cache"
    if [ -d "$main_cache/rtl" ]; then cp -r "$main_cache/rtl" "$cache/rtl"; fi
    local args=(search -q --json --out-dir "$dir")
    if [ -f "$dir/config.json" ]; then
        note "$id: continuing the interrupted run in $dir"
        args+=(--resume)
    else
        args+=("$@")
    fi
    local l0 t0 t1 rc=0
    l0=$(load)
    t0=$(date +%s.%N)
    note "$id: gemforge ${args[*]} (load $l0)"
    mkdir -p "$(dirname "$dir")"
    GEMFORGE_CACHE_DIR=$cache "$bin" "${args[@]}" >"$dir.out.json" 2>"$dir.stderr" || rc=$?
    t1=$(date +%s.%N)
    rm -rf "$cache"
    # 0: a result; 1: finished without a correct program (the table shows "-").
    if [ $rc -gt 1 ] || ! finished "$dir"; then
        die "$id: gemforge search exited with status $rc; see $dir.stderr (run the script again to continue it)"
    fi
    # Wall seconds and the load averages (1, 5, 15 min) at start and end, for the table.
    printf '%s %s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')" "${l0// /,}" "$(load | tr ' ' ,)" >"$dir.wall"
    note "$id: done in $(cut -d' ' -f1 "$dir.wall") s"
}

# Best cycles of a finished run (its re-checked winner), or "-" when it has none.
best() { jq -r 'select(.event == "finish") | .cycles // "-"' "$1/journal.jsonl" | tail -n1; }
# Candidates judged: evaluated programs other than the baselines and the starting program.
candidates() {
    local start
    start=$(jq -r .start "$1/config.json")
    jq -r --arg s "$start" 'select(.event == "evaluated" and .code != $s
        and (.code | startswith("baseline:") | not)) | .code' "$1/journal.jsonl" | wc -l | tr -d ' '
}
# Best cycles among the starting program and the first K candidates judged (journal order, which is the
# order verdicts arrived: with parallel evaluations it may differ from the admission order by a few).
best_after() {
    local start
    start=$(jq -r .start "$1/config.json")
    jq -rs --arg s "$start" --argjson k "$2" '
        def ok: select(.verdict.correct and .verdict.failure == null) | .verdict.cycles;
        [.[] | select(.event == "evaluated")] as $e
        | ([$e[] | select(.code == $s) | ok]
           + [[$e[] | select(.code != $s and (.code | startswith("baseline:") | not))][:$k][] | ok])
        | min // "-"' "$1/journal.jsonl"
}
wall() { if [ -f "$1.wall" ]; then printf '%.0f s' "$(cut -d' ' -f1 "$1.wall")"; else echo "-"; fi; }
loads() { if [ -f "$1.wall" ]; then cut -d' ' -f2,3 "$1.wall" | awk '{split($1,a,","); split($2,b,","); printf "%s..%s", a[1], b[1]}'; else echo "-"; fi; }
# Median of numbers on stdin ("-" when none): cycles whole when they are (else one decimal), or with
# `median pct` a percentage with two decimals.
median() {
    sort -g | awk -v pct="${1:-}" '{v[NR] = $1}
        END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (pct != "") { m = sprintf("%.2f", m); if (m + 0 == 0) m = "0.00"; print m }
            else if (m == int(m)) printf "%.0f\n", m
            else printf "%.1f\n", m
        }'
}
# Improvement of WITH over WITHOUT in percent of WITHOUT (fewer cycles is better).
improvement() {
    if [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]]; then
        # Two decimals; a difference that rounds to nothing is 0.00, never -0.00.
        awk -v w="$1" -v o="$2" 'BEGIN {i = sprintf("%.2f", (o - w) * 100 / o); if (i + 0 == 0) i = "0.00"; print i}'
    else echo "-"; fi
}

# Sources first (each once), then the targets.
declare -A src_dir=()
sources=()
for p in "${pairs[@]}"; do
    src=${p%%:*}
    [ -n "${src_dir[$src]:-}" ] && continue
    sources+=("$src")
    if [ -n "${source_run[$src]:-}" ]; then
        d=${source_run[$src]}
        finished "$d" || die "--source-run $src=$d: $d holds no finished run"
        src_dir[$src]=$(cd "$d" && pwd)
        continue
    fi
    d="$out/source/$src"
    # shellcheck disable=SC2086
    run "source-$src" "$d" --workload "$src" --seed 1 --no-baselines $source_args
    src_dir[$src]=$d
done
for p in "${pairs[@]}"; do
    src=${p%%:*} tgt=${p#*:}
    for s in $seeds; do
        # shellcheck disable=SC2086
        run "without-$tgt-s$s" "$out/without/$tgt/s$s" --workload "$tgt" --seed "$s" --no-baselines \
            --max-evaluations "$budget" --iterations "$target_iterations" $target_args
        # shellcheck disable=SC2086
        run "with-$src-$tgt-s$s" "$out/with/$src--$tgt/s$s" --workload "$tgt" --seed "$s" --no-baselines \
            --max-evaluations "$budget" --iterations "$target_iterations" --reuse-from "${src_dir[$src]}" \
            $target_args
    done
done

{
    echo "Target searches at --max-evaluations $budget and --iterations $target_iterations (defaults otherwise),"
    echo "best cycles after the re-check; improvement = (without - with) / without. Wall: seconds of that run,"
    echo "with the 1-minute load average at its start..end."
    echo
    head="| pair | seed | with reuse | without | improvement % | candidates (with / without) |"
    rule="|---|---|---|---|---|---|"
    for k in $checkpoints; do
        head+=" after $k (with / without) |"
        rule+="---|"
    done
    echo "$head wall with (load) | wall without (load) |"
    echo "$rule---|---|"
    for p in "${pairs[@]}"; do
        src=${p%%:*} tgt=${p#*:}
        ws=() os=() is=()
        declare -A cw=() co=()
        for s in $seeds; do
            dw="$out/with/$src--$tgt/s$s" do="$out/without/$tgt/s$s"
            w=$(best "$dw") o=$(best "$do") i=$(improvement "$w" "$o")
            ws+=("$w") os+=("$o") is+=("$i")
            row="| $src -> $tgt | $s | $w | $o | $i | $(candidates "$dw") / $(candidates "$do") |"
            for k in $checkpoints; do
                a=$(best_after "$dw" "$k") b=$(best_after "$do" "$k")
                cw[$k]="${cw[$k]:-} $a" co[$k]="${co[$k]:-} $b"
                row+=" $a / $b |"
            done
            echo "$row $(wall "$dw") ($(loads "$dw")) | $(wall "$do") ($(loads "$do")) |"
        done
        mw=$(printf '%s\n' "${ws[@]}" | { grep -E '^[0-9]+$' || true; } | median)
        mo=$(printf '%s\n' "${os[@]}" | { grep -E '^[0-9]+$' || true; } | median)
        mi=$(printf '%s\n' "${is[@]}" | { grep -E '^-?[0-9.]+$' || true; } | median pct)
        row="| $src -> $tgt | median | $mw | $mo | $mi | |"
        for k in $checkpoints; do
            a=$(printf '%s\n' ${cw[$k]} | { grep -E '^[0-9]+$' || true; } | median)
            b=$(printf '%s\n' ${co[$k]} | { grep -E '^[0-9]+$' || true; } | median)
            row+=" $a / $b |"
        done
        echo "$row | |"
        unset cw co
    done
    echo
    echo "| source run (seed 1, default budget) | best cycles | candidates | wall (load) |"
    echo "|---|---|---|---|"
    for src in "${sources[@]}"; do
        d=${src_dir[$src]}
        echo "| $src ($d) | $(best "$d") | $(candidates "$d") | $(wall "$d") ($(loads "$d")) |"
    done
} | tee "$out/table.md"
