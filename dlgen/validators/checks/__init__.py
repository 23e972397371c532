"""The checks, one module each; importing this package registers them all."""

from dlgen.validators.checks import docstrings, english, extras, smoke, style, tests, types

__all__ = ["docstrings", "english", "extras", "smoke", "style", "tests", "types"]
