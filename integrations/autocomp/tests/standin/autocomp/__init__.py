"""A minimal stand-in for Autocomp's package (ucb-bar/autocomp), written for gemforge's tests: only the
names and call shapes the evaluation-backend interface involves. No code of Autocomp is copied."""
