"""Benchmarks for the performance targets of issue 7: `make bench` (python -m bench) prints the table."""
