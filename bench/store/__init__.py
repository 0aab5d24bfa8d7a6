"""Store: the run-file format and the record schema (no torch)."""
