"""Stand-in for Autocomp's problem: a type, an id and its test harnesses (one per problem)."""


class Prob:
    def __init__(self, prob_type, prob_id):
        self.prob_type = prob_type
        self.prob_id = prob_id
        self.tests = [f"harnesses/{prob_type}/test{prob_id}.c"]
