"""Benchmarks: each prints a table of figures; the README quotes the latest run."""
