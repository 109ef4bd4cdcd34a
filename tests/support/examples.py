"""How many examples a hypothesis property runs.

`make test` runs the count written in each test (hypothesis' default profile, 100 where none
is written). `make test-fast` passes `--hypothesis-profile=fast` (registered in
tests/conftest.py: 25 by default), and a written count is scaled by the same quarter, never
below `FLOOR`: the property is still exercised on every run, fully under `make test`.
"""

from __future__ import annotations

from typing import Final

from hypothesis import settings

FAST_PROFILE: Final = "fast"
FAST_MAX_EXAMPLES: Final = 25
FLOOR: Final = 5


def examples(count: int) -> int:
    """`count`, or its share under the loaded profile when that asks for fewer than 100."""
    default = settings.get_profile("default").max_examples
    current = settings().max_examples
    if current >= default:
        return count
    return max(FLOOR, count * current // default)
