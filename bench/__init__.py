"""Benchmarks. `python -m bench` runs them all and writes one JSON file of figures."""
