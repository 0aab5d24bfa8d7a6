"""Data-parallel ranks started by torchrun: the launcher, a rank's world and its shares."""
