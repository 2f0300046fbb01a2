"""Stand-in for Autocomp's Gemmini backend: like the real one, its constructor fails when no Chipyard
checkout is configured for the array size, and it would run Spike or FireSim for a simulator."""

from autocomp.backend.eval_backend import EvalBackend

CHIPYARD_PATHS = {4: None, 16: None, 32: None}


class GemminiEvalBackend(EvalBackend):
    def __init__(self, hw_config):
        self.hw_config = hw_config
        self.pe_dim = hw_config.pe_dim
        if not CHIPYARD_PATHS.get(self.pe_dim):
            raise ValueError(f"no Chipyard path configured for pe_dim {self.pe_dim}")

    def evaluate_code(self, prob, code_strs, simulator):
        raise RuntimeError(f"the stand-in cannot run {simulator}")

    def get_hw_feedback(self, prob, code_strs):
        raise RuntimeError("the stand-in cannot run Spike")
