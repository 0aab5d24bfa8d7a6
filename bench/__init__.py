"""sdxl-bench: throughput, latency and memory benchmarks for diffusers SDXL batch inference."""

__version__ = "0.1.0"
