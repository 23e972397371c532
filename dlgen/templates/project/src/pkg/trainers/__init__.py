"""The training engine: a task-agnostic trainer, optimizers and schedulers."""
