"""Citewire's benchmarks: ``python -m bench.ingest`` (throughput) and ``python -m bench.query`` (latency).

See docs/BENCHMARKS.md for what each measures and the latest numbers.
"""
