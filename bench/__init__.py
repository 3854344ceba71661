"""Benchmarks, run from the checkout root as modules: `.venv/bin/python -m bench.bench_<name>`.

Each prints the ratios measured in one run; figures in docs/benchmarks.md and
docs/detection-benchmarks.md. Timed checks belong here, never in tests/."""
