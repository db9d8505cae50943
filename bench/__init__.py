"""Benchmarks of the execution engine; `make bench` runs `bench/engine.py`."""
