"""Benchmark sections of tool/benchmark.py, one module per job."""
