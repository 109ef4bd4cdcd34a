"""Three-valued (Kleene) AND/OR for clinical criteria: True, False, or None for unknown.

SQL's AND/OR follow the same truth table, so the Ibis twins of the rules built on these
combine columns with `&` and `|`. Shared by joints, inactive disease and systemic features.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["all3", "any3"]


def all3(values: Iterable[bool | None]) -> bool | None:
    """Kleene AND: False if any is False, else None if any is None, else True.

    >>> all3([True, None, False]), all3([True, None]), all3([True, True])
    (False, None, True)
    """
    seen = list(values)
    if any(v is False for v in seen):
        return False
    if any(v is None for v in seen):
        return None
    return True


def any3(values: Iterable[bool | None]) -> bool | None:
    """Kleene OR: True if any is True, else None if any is None, else False.

    >>> any3([False, None, True]), any3([False, None]), any3([False, False])
    (True, None, False)
    """
    seen = list(values)
    if any(v is True for v in seen):
        return True
    if any(v is None for v in seen):
        return None
    return False
