"""Stand-in for autocomp.backend.gemmini."""
