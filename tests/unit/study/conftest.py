"""Fixtures of the study tests: an empty `Registry` builder (see registry.py)."""

from __future__ import annotations

import pytest
from tests.unit.study.registry import Registry


@pytest.fixture()
def registry() -> Registry:
    """An empty registry to add patients, visits and steroid records to."""
    return Registry()
