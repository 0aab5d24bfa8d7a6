"""One module per CLI command: ``register(subparsers)`` and ``main(args) -> int``."""
