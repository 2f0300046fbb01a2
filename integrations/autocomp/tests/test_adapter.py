"""Tests of gemforge_autocomp against gemforge and a stand-in for Autocomp's interface (tests/standin).

Run by tests/bench/autocomp.rs (`cargo test --release --test bench autocomp::`), which sets GEMFORGE_BIN to the built
binary and PYTHONPATH to integrations/autocomp; by hand:
    GEMFORGE_BIN=target/release/gemforge PYTHONPATH=integrations/autocomp \
        python3 -m unittest discover -s integrations/autocomp/tests -v
"""

import os
import pathlib
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
PROGRAMS = ROOT / "tests" / "programs" / "autocomp"
sys.path.insert(0, str(HERE / "standin"))

import gemforge_autocomp  # noqa: E402
from gemforge_autocomp import GemforgeEvalBackend, clean_code  # noqa: E402
from gemforge_autocomp.hook import install  # noqa: E402

# The hook is registered before the stand-in's Gemmini module is first imported (as the .pth file does).
install()

from autocomp.backend.gemmini.gemmini_eval import GemminiEvalBackend  # noqa: E402
from autocomp.search.prob import Prob  # noqa: E402


class HwConfig:
    """Stand-in for Autocomp's GemminiHardwareConfig."""

    def __init__(self, pe_dim, spad_size_kb=256, acc_size_kb=64):
        self.pe_dim, self.spad_size_kb, self.acc_size_kb = pe_dim, spad_size_kb, acc_size_kb


ADMM0_BODY = (PROGRAMS / "admm0_body.c").read_text()
ADMM0_SIGNATURE = "void solution(float Kinf[12][4], float x_i[12][1], float d_i[4][1], float u_i[4][1])"


def search_step(stats, metric="latency"):
    """What Autocomp's search does with a backend's answer: a candidate's score is its metric when it is
    correct, infinity otherwise."""
    return [s[metric] if s["correct"] else float("inf") for s in stats]


class Adapter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = GemforgeEvalBackend(HwConfig(4), jobs=2, screen_runs=2, seed=11)

    def test_mapping_has_every_problem(self):
        p = self.backend.problems()
        self.assertEqual(len(p), 22)
        self.assertEqual(p[("admm-multifunction", 1)]["workload"], "admm_forward_pass")
        self.assertEqual(p[("exo", 0)]["workload"], "gemm_512x512x512")
        self.assertEqual(p[("exo-conv", 3)]["workload"], "conv_14x128")
        self.assertEqual(p[("gemm", 8)]["workload"], "gemm_32x1024x1024")
        with self.assertRaisesRegex(gemforge_autocomp.GemforgeError, "no workload for Autocomp problem"):
            self.backend.problem(Prob("exo", 99))

    def test_clean_code_takes_the_body_as_autocomp_does(self):
        self.assertEqual(clean_code("c\nvoid solution(int a) {\n  f();\n}\n"), "\n  f();\n")
        self.assertEqual(clean_code("  g();"), "  g();")
        self.assertEqual(clean_code(""), "")

    def test_int8_problems_get_the_workload_signature(self):
        row = self.backend.problem(Prob("exo", 0))
        src = self.backend.source(row, "c\nvoid solution(int8_t A[512][512]) {\n  fence();\n}")
        self.assertTrue(src.startswith(
            "void solution(int8_t A[512][512], int8_t B[512][512], int8_t C[512][512]) {\n"), src)
        self.assertIn("fence();", src)
        self.assertEqual(self.backend.source(row, "  fence();"), f"{row['signature']} {{\n  fence();\n}}\n")

    def test_whole_functions_and_bodies_wrong_and_broken_ones(self):
        prob = Prob("admm-multifunction", 0)
        codes = [
            ADMM0_BODY,                                              # a bare body
            f"c\n{ADMM0_SIGNATURE} {{\n{ADMM0_BODY}\n}}\n",          # a whole function after a stray line
            "    fence();\n",                                        # computes nothing
            "    this is not C;\n",                                  # does not compile
        ]
        stats = self.backend.evaluate_code(prob, codes, "gemforge")
        self.assertEqual(len(stats), 4)
        for s in stats:
            for key in ("correct", "compiled", "test_results", "spad_util", "acc_util", "gemforge"):
                self.assertIn(key, s)
        good, whole, empty, broken = stats
        for s in (good, whole):
            self.assertTrue(s["correct"], s)
            self.assertTrue(s["compiled"])
            self.assertEqual(s["test_results"], {0: True})
            self.assertIsInstance(s["latency"], int)
            self.assertGreater(s["latency"], 0)
            self.assertGreater(s["spad_util"], 0)
            self.assertEqual(s["gemforge"]["workload"], "admm_input_step")
        self.assertEqual(good["latency"], whole["latency"], "same program, same cycles")
        self.assertFalse(empty["correct"])
        self.assertTrue(empty["compiled"])
        self.assertNotIn("latency", empty)
        self.assertIn("wrong_result", empty["stderr"])
        self.assertFalse(broken["correct"])
        self.assertFalse(broken["compiled"])
        self.assertIn("compile_error", broken["stderr"])
        scores = search_step(stats)
        self.assertEqual(scores[2:], [float("inf")] * 2)

    def test_hw_feedback_lines(self):
        fb = self.backend.get_hw_feedback(Prob("admm-multifunction", 0), [ADMM0_BODY])
        self.assertEqual(len(fb), 1)
        self.assertRegex(fb[0][0], r"^Scratchpad utilization is \d+KB out of 64KB\.")
        self.assertRegex(fb[0][1], r"^Accumulator utilization is \d+KB out of 32KB\.")


class OneSetting(unittest.TestCase):
    """`simulator = "gemforge"` is the one change: Autocomp's own Gemmini backend, built as Autocomp builds it
    (no Chipyard configured), then answers through gemforge."""

    def test_gemmini_backend_answers_through_gemforge(self):
        self.assertTrue(getattr(GemminiEvalBackend, "_gemforge_patched", False), "the import hook ran")
        backend = GemminiEvalBackend(HwConfig(4))
        prob = Prob("admm-multifunction", 2)
        code = (PROGRAMS / "admm2_body.c").read_text()
        stats = backend.evaluate_code(prob, [code], "gemforge")
        self.assertTrue(stats[0]["correct"], stats[0])
        self.assertGreater(stats[0]["latency"], 0)
        fb = backend.get_hw_feedback(prob, [code])
        self.assertIn("out of 64KB", fb[0][0])
        with self.assertRaisesRegex(ValueError, "no Chipyard path"):
            backend.evaluate_code(prob, [code], "spike")

    def test_pth_file_installs_the_hook(self):
        line = (HERE.parent / "gemforge_autocomp.pth").read_text().strip()
        self.assertTrue(line.startswith("import "), line)
        self.assertIn("install()", line)


if __name__ == "__main__":
    if not os.environ.get("GEMFORGE_BIN"):
        sys.exit("set GEMFORGE_BIN to the gemforge binary")
    unittest.main()
