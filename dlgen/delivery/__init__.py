"""Delivery: the only code that touches the user's disk (atomic writer) and the PR bot."""
