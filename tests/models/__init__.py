"""Helpers for the model-template tests."""
