"""Stand-in for autocomp.backend."""
