"""Build: model preset → pipelines on the device, with optimizations applied."""
