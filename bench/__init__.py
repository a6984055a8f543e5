"""Benchmarks: each measures against a floor taken in the same run and writes its results."""
