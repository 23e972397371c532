"""Shared fixtures for dlgen's own test suite."""

from __future__ import annotations

import pytest

from dlgen.spec import Spec
from tests.factories import make_spec


@pytest.fixture
def tiny_spec() -> Spec:
    """A small valid ViT spec."""
    return make_spec()
