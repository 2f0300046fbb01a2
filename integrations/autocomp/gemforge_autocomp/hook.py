"""Makes ``simulator = "gemforge"`` in Autocomp's run_search.py select gemforge, with no other change.

Autocomp builds its Gemmini backend as ``GemminiEvalBackend(hw_config)`` and calls
``evaluate_code(prob, code_strs, simulator)`` with the ``simulator`` of run_search.py, and
``get_hw_feedback(prob, code_strs)``. ``install()`` patches that class (now, or when Autocomp's module is
first imported) so that:

- its constructor no longer fails when no Chipyard path is configured (that error is kept and raised
  only if Spike or FireSim is then asked for);
- ``evaluate_code(..., simulator="gemforge")`` is answered by :class:`GemforgeEvalBackend`; any other
  simulator runs Autocomp's own code;
- ``get_hw_feedback`` is answered by gemforge once gemforge evaluated for this backend (or when Chipyard is
  not configured).

The package installs a ``gemforge_autocomp.pth`` file that calls ``install()`` at interpreter start-up
(which only registers an import hook: nothing is imported until Autocomp is). Set
``GEMFORGE_AUTOCOMP_HOOK=0`` to turn it off.
"""

import importlib.abc
import os
import sys

TARGET = "autocomp.backend.gemmini.gemmini_eval"


def install():
    """Patch Autocomp's GemminiEvalBackend now if its module is loaded, else when it is imported."""
    if os.environ.get("GEMFORGE_AUTOCOMP_HOOK", "1") == "0":
        return
    module = sys.modules.get(TARGET)
    if module is not None:
        patch(module)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def patch(module):
    """Patch ``module.GemminiEvalBackend`` (idempotent)."""
    cls = getattr(module, "GemminiEvalBackend", None)
    if cls is None or getattr(cls, "_gemforge_patched", False):
        return
    from .backend import SIMULATOR, GemforgeEvalBackend

    orig_init, orig_eval, orig_feedback = cls.__init__, cls.evaluate_code, cls.get_hw_feedback

    def __init__(self, hw_config, *args, **kwargs):
        self._gemforge_backend = None
        self._gemforge_selected = False
        self._gemforge_init_error = None
        try:
            orig_init(self, hw_config, *args, **kwargs)
        except ValueError as e:  # no Chipyard path for this pe_dim: only gemforge can evaluate
            self._gemforge_init_error = e
            self.hw_config = hw_config
            for name in ("pe_dim", "spad_size_kb", "acc_size_kb"):
                setattr(self, name, getattr(hw_config, name, None))

    def gemforge(self):
        if self._gemforge_backend is None:
            self._gemforge_backend = GemforgeEvalBackend(self.hw_config)
        return self._gemforge_backend

    def evaluate_code(self, prob, code_strs, simulator):
        if simulator == SIMULATOR:
            self._gemforge_selected = True
            return gemforge(self).evaluate_code(prob, code_strs, simulator)
        if self._gemforge_init_error is not None:
            raise self._gemforge_init_error
        return orig_eval(self, prob, code_strs, simulator)

    def get_hw_feedback(self, prob, code_strs):
        if self._gemforge_selected or self._gemforge_init_error is not None:
            return gemforge(self).get_hw_feedback(prob, code_strs)
        return orig_feedback(self, prob, code_strs)

    cls.__init__ = __init__
    cls.evaluate_code = evaluate_code
    cls.get_hw_feedback = get_hw_feedback
    cls._gemforge_patched = True


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then patches the module."""

    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds Autocomp's Gemmini backend module with the other finders and wraps its loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader)
                return spec
        return None
