"""Reusable neural-network layers, one concept per file."""
