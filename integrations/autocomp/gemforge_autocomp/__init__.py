"""gemforge_autocomp: gemforge (cycle-accurate Gemmini RTL co-simulation) as Autocomp's evaluation backend.

``GemforgeEvalBackend`` implements Autocomp's backend interface; ``install()`` makes ``simulator =
"gemforge"`` in Autocomp's run_search.py select it (the package's .pth file calls it at start-up).
See README.md.
"""

from .backend import SIMULATOR, GemforgeError, GemforgeEvalBackend, clean_code, find_gemforge
from .hook import install

__all__ = ["SIMULATOR", "GemforgeError", "GemforgeEvalBackend", "clean_code", "find_gemforge", "install"]
