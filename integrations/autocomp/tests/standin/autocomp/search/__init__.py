"""Stand-in for autocomp.search."""
