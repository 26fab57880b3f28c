"""Pure computation on a Checkpoint: no I/O."""
