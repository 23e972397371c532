"""Utilities: devices, distributed training, seeding, checkpoints, EMA, logging."""
