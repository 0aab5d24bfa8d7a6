"""Execute: one session setup, one sweep loop, interchangeable executors."""
