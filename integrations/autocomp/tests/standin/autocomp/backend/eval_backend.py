"""Stand-in for Autocomp's backend base class: evaluate_code(prob, code_strs, simulator) returns one stats
dict per candidate; get_hw_feedback(prob, code_strs) one list of strings per candidate."""


class EvalBackend:
    def evaluate_code(self, prob, code_strs, simulator):
        raise NotImplementedError

    def get_hw_feedback(self, prob, code_strs):
        return [[] for _ in code_strs]

    def get_backend_specific_rules(self):
        return []
