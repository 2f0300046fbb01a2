"""Runs gemforge_autocomp inside a checkout of Autocomp (ucb-bar/autocomp), the way run_search.py builds its
backend, with `simulator = "gemforge"`; evaluates the published programs of the admm-multifunction problems
and prints what Autocomp's search would read.

Usage: GEMFORGE_BIN=<gemforge>/target/release/gemforge PYTHONPATH=<gemforge>/integrations/autocomp \
           python3 autocomp_checkout.py /path/to/autocomp [--stub-sdks]

Autocomp's modules import its LLM SDKs (openai, anthropic, boto3, google-genai, together, wandb) at import
time. With those installed (`pip install -e /path/to/autocomp`) nothing is stubbed. `--stub-sdks` puts empty
placeholder modules for the missing ones into sys.modules first, so that Autocomp's backend, problem and
search-setup code can be imported on a machine without them; no LLM is called by this script.
"""

import importlib
import pathlib
import sys
import types


def stub_missing_sdks():
    """Empty modules for the SDKs Autocomp imports at module level, where they are not installed."""
    names = ["boto3", "openai", "google", "google.genai", "google.genai.types", "anthropic", "together", "wandb"]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            mod = types.ModuleType(name)
            mod.__path__ = []  # a package, so that its submodules can be stubbed too

            def placeholder(attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return type(attr, (), {"__init__": lambda self, *a, **k: None})

            mod.__getattr__ = placeholder
            sys.modules[name] = mod
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, mod)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    checkout = pathlib.Path(sys.argv[1]).resolve()
    if not (checkout / "autocomp" / "search" / "prob.py").is_file():
        sys.exit(f"{checkout} is not a checkout of ucb-bar/autocomp")
    if "--stub-sdks" in sys.argv:
        stub_missing_sdks()
    sys.path.insert(0, str(checkout))

    import gemforge_autocomp
    gemforge_autocomp.install()  # what the package's .pth file does at start-up

    from autocomp.hw_config import GemminiHardwareConfig
    from autocomp.search.prob import Prob
    from autocomp.search.search import create_backend_and_agents, load_initial_code

    hw_config = GemminiHardwareConfig(pe_dim=4, spad_size_kb=256, acc_size_kb=64)
    simulator = "gemforge"  # the one setting changed in run_search.py
    for prob_id in range(3):
        prob = Prob("admm-multifunction", prob_id)
        eval_backend, _agent, _code_agent = create_backend_and_agents(
            "gemmini", "gemmini", hw_config, prob, ["openai::gpt-4o"])
        try:
            initial = load_initial_code("gemmini", prob)
            print(f"{prob}: initial code {prob.sol_file.name}")
        except FileNotFoundError as e:
            initial = None
            print(f"{prob}: Autocomp has no initial code ({e.filename})")
        sols = sorted((checkout / "sols" / "admm-multifunction").glob(f"sol{prob_id}_*.c"))
        codes = [s.read_text() for s in sols]
        stats = eval_backend.evaluate_code(prob, codes, simulator)
        feedback = eval_backend.get_hw_feedback(prob, codes)
        for sol, s, fb in zip(sols, stats, feedback):
            print(f"  {sol.name:<18} correct={s['correct']!s:<5} compiled={s['compiled']!s:<5} "
                  f"latency={s.get('latency', '-')!s:<6} spad_util={s['spad_util']:.4f} acc_util={s['acc_util']:.4f}"
                  + ("" if s["correct"] else f"  [{s['stderr'][:90]}]"))
            print(f"      feedback: {fb[0]} / {fb[1]}")
        if initial is not None:
            s = eval_backend.evaluate_code(prob, [initial], simulator)[0]
            print(f"  initial code: correct={s['correct']} latency={s.get('latency')}")


if __name__ == "__main__":
    main()
