"""dlgen's version, recorded in every generated project's manifest."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dlgen")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
