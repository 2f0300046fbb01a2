"""gemforge as Autocomp's evaluation backend.

Autocomp's search hands its evaluation backend a problem (``prob.prob_type``, ``prob.prob_id``) and a list of
candidate programs (whole ``solution`` functions or bare bodies, as its LLM agents write them) and reads, for
each, a dict: ``correct``, ``compiled``, ``test_results``, the metric (``latency``, in cycles), and for its
hardware feedback ``spad_util`` / ``acc_util``. This module answers those calls by running ``gemforge eval
--json`` on every candidate in parallel: gemforge compiles it, checks it on fresh inputs on its functional
model, and measures the cycles of the call on the accelerator's RTL (Verilated), so no FPGA (FireSim) and no
Chipyard checkout are needed. Which gemforge workload and hardware configuration judge a problem comes from
``gemforge workloads --autocomp --json``.

Everything here was written for gemforge; it copies nothing from Autocomp.
"""

import concurrent.futures
import hashlib
import json
import logging
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading

try:  # Autocomp's base class when Autocomp is importable; a plain object otherwise.
    from autocomp.backend.eval_backend import EvalBackend as _Base
except Exception:  # noqa: BLE001 - any import failure (missing Autocomp or its LLM SDKs) means "no base"
    _Base = object

log = logging.getLogger("gemforge_autocomp")

#: The value of run_search.py's ``simulator`` setting that selects gemforge.
SIMULATOR = "gemforge"


class GemforgeError(RuntimeError):
    """gemforge could not be found or run, or does not know the problem."""


def find_gemforge(explicit=None):
    """The gemforge binary: ``explicit``, else ``$GEMFORGE_BIN``, else ``gemforge`` on the PATH."""
    for candidate in (explicit, os.environ.get("GEMFORGE_BIN")):
        if candidate:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
            raise GemforgeError(
                f"gemforge binary {candidate!r} does not exist or is not executable "
                "(set GEMFORGE_BIN to target/release/gemforge of a built gemforge checkout)")
    found = shutil.which("gemforge")
    if found:
        return found
    raise GemforgeError(
        "gemforge is not on the PATH and GEMFORGE_BIN is not set: build it (cargo build --release in the "
        "gemforge checkout) and set GEMFORGE_BIN=<checkout>/target/release/gemforge")


def clean_code(code):
    """The body of a candidate, taken as Autocomp takes it: with ``void solution(`` in the text, what lies
    between the first ``{`` after it and the last ``}``; otherwise the whole text is the body."""
    if not code:
        return ""
    at = code.find("void solution(")
    if at < 0:
        return code
    rest = code[at:]
    start = rest.find("{") + 1
    end = rest.rfind("}")
    return rest[start:end] if start > 0 and end >= start else ""


class GemforgeEvalBackend(_Base):
    """Autocomp's evaluation-backend interface (``evaluate_code``, ``get_hw_feedback``,
    ``get_backend_specific_rules``) answered by gemforge.

    ``hw_config``: Autocomp's hardware configuration (only used to warn when it does not match the
    configuration gemforge judges the problem on). ``gemforge``: path of the binary (default
    ``$GEMFORGE_BIN`` or the PATH). ``jobs``: evaluations run at once (default: the CPU count).
    ``screen_runs``: input sets checked on the functional model before the RTL run. ``seed``: base seed of
    the inputs (default: fresh for every evaluation). ``timeout``: seconds one evaluation may take.
    """

    def __init__(self, hw_config=None, gemforge=None, jobs=None, screen_runs=3, seed=None, timeout=1800):
        self.hw_config = hw_config
        self.gemforge = find_gemforge(gemforge)
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.screen_runs = int(screen_runs)
        self.seed = seed
        self.timeout = timeout
        self._problems = None
        self._cache = {}
        self._lock = threading.Lock()
        self._warned = set()

    def __repr__(self):
        return f"GemforgeEvalBackend({self.gemforge})"

    # ---- problems -------------------------------------------------------------------------------------

    def problems(self):
        """Every Autocomp problem gemforge judges: {(prob_type, prob_id): row of `workloads --autocomp`}."""
        if self._problems is None:
            out = self._run([self.gemforge, "workloads", "--autocomp", "--json"], timeout=120)
            try:
                rows = json.loads(out.stdout)
            except json.JSONDecodeError as e:
                raise GemforgeError(f"`gemforge workloads --autocomp --json` printed no JSON ({e}): "
                                    f"{out.stdout[:200]!r} {out.stderr[:200]!r}") from e
            self._problems = {(r["prob_type"], int(r["prob_id"])): r for r in rows}
        return self._problems

    def problem(self, prob):
        """The row of Autocomp problem ``prob`` (anything with ``prob_type`` and ``prob_id``)."""
        key = (getattr(prob, "prob_type", None), getattr(prob, "prob_id", None))
        try:
            row = self.problems()[(key[0], int(key[1]))]
        except (KeyError, TypeError, ValueError):
            known = ", ".join(f"{t} {i}" for t, i in sorted(self.problems()))
            raise GemforgeError(f"gemforge has no workload for Autocomp problem {key}; it judges: {known}") from None
        pe_dim = getattr(self.hw_config, "pe_dim", None)
        if pe_dim is not None and row.get("dim") is not None and pe_dim != row["dim"] and key not in self._warned:
            self._warned.add(key)
            log.warning("Autocomp's hw_config has pe_dim=%s, but gemforge judges %s %s on %s (DIM %s)",
                        pe_dim, key[0], key[1], row["config"], row["dim"])
        return row

    def source(self, row, code):
        """The C file gemforge evaluates for candidate ``code`` of problem ``row``: for a problem whose
        workload takes bodies (admm-multifunction) the text itself; otherwise the body, as Autocomp takes it,
        inside the workload's signature."""
        if row.get("body_only"):
            return code
        return f"{row['signature']} {{\n{clean_code(code)}\n}}\n"

    # ---- evaluation -----------------------------------------------------------------------------------

    def verdict(self, row, code):
        """gemforge's verdict (the JSON object of ``gemforge eval --json``) for one candidate; cached by
        content for the life of this backend (``get_hw_feedback`` after ``evaluate_code`` does not re-run)."""
        src = self.source(row, code)
        key = hashlib.sha256(json.dumps([row["workload"], row["config"], self.screen_runs, self.seed,
                                         src]).encode()).hexdigest()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        with tempfile.TemporaryDirectory(prefix="gemforge-autocomp-") as d:
            path = pathlib.Path(d) / "candidate.c"
            path.write_text(src)
            cmd = [self.gemforge, "eval", "--json", "-q", "--workload", row["workload"], "--config", row["config"],
                   "--screen-runs", str(self.screen_runs)]
            if self.seed is not None:
                cmd += ["--seed", str(self.seed)]
            cmd.append(str(path))
            try:
                out = self._run(cmd, timeout=self.timeout, check=False)
                lines = [ln for ln in out.stdout.splitlines() if ln.strip().startswith("{")]
                v = json.loads(lines[-1]) if lines else None
                if v is None:
                    v = {"correct": False, "failure": "host_error",
                         "detail": f"gemforge eval printed no verdict (exit {out.returncode}): {out.stderr.strip()}"}
            except subprocess.TimeoutExpired:
                v = {"correct": False, "failure": "timeout",
                     "detail": f"gemforge eval took more than {self.timeout} s"}
        with self._lock:
            self._cache[key] = v
        return v

    def verdicts(self, prob, code_strs):
        row = self.problem(prob)
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return row, list(pool.map(lambda c: self.verdict(row, c), code_strs))

    def evaluate_code(self, prob, code_strs, simulator=SIMULATOR):
        """One dict per candidate, with the keys Autocomp's search reads: ``correct``, ``compiled``,
        ``test_results`` ({test index: passed}), ``latency`` (cycles of the call on the RTL; only when
        correct), ``spad_util`` and ``acc_util`` (rows used over capacity: see ``_stats``), ``stderr`` (why a
        candidate failed, for Autocomp's re-implementation prompts); gemforge's verdict under ``gemforge``."""
        row, verdicts = self.verdicts(prob, code_strs)
        n_tests = max(1, len(getattr(prob, "tests", None) or []))
        return [self._stats(row, v, n_tests) for v in verdicts]

    def get_hw_feedback(self, prob, code_strs):
        """Per candidate, Autocomp's two utilization lines (scratchpad and accumulator)."""
        row, verdicts = self.verdicts(prob, code_strs)
        out = []
        for v in verdicts:
            s = self._stats(row, v, 1)
            lines = []
            for what, util, cap in (("Scratchpad", s["spad_util"], row.get("spad_kib")),
                                    ("Accumulator", s["acc_util"], row.get("acc_kib"))):
                cap = cap or 0
                line = f"{what} utilization is {round(util * cap)}KB out of {cap}KB."
                if util < 1:
                    line += f" Consider increasing {what.lower()} utilization to improve performance."
                lines.append(line)
            out.append(lines)
        return out

    def get_backend_specific_rules(self):
        return []

    # ---- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _stats(row, v, n_tests):
        correct = bool(v.get("correct"))
        failure = v.get("failure")
        sp_rows, acc_rows = row.get("sp_rows") or 0, row.get("acc_rows") or 0
        # Rows the hart's mvins wrote; for the accumulator also the rows its computes wrote (Autocomp counts
        # the accumulator rows moved out too: those are the computed ones). Rows the loop FSMs write with
        # their own commands are not counted by gemforge.
        sp_used = v.get("sp_rows_used") or 0
        acc_used = max(v.get("acc_rows_used") or 0, v.get("acc_rows_computed") or 0)
        s = {
            "correct": correct,
            "compiled": failure not in ("compile_error", "forbidden_symbol"),
            "test_results": {i: correct for i in range(n_tests)},
            "spad_util": sp_used / sp_rows if sp_rows else 0.0,
            "acc_util": acc_used / acc_rows if acc_rows else 0.0,
            "gemforge": dict(v, workload=row["workload"], config=row["config"]),
        }
        if correct and v.get("cycles") is not None:
            s["latency"] = int(v["cycles"])
        if not correct:
            s["stderr"] = f"{failure}: {v.get('detail', '')}"
        return s

    @staticmethod
    def _run(cmd, timeout, check=True):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
        except OSError as e:
            raise GemforgeError(f"cannot run {cmd[0]}: {e}") from e
        if check and out.returncode != 0:
            raise GemforgeError(f"`{' '.join(cmd)}` failed (exit {out.returncode}): {out.stderr.strip()}")
        return out
