"""The problems of one validation run: kept in file order, the first `MAX_REPORTED` shown.

`jiareg.ingest.validate` fills a `Problems` column by column; a run checked on several
threads gives each column its own `Problems` and `merge`s them in column order, so the
problems and their order are those of the same checks run one after another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.errors import ImportErrors, ImportRowError
from jiareg.formats.cells import RawTable
from jiareg.ingest.lenient import CellOptions, Normalisation

__all__ = ["MAX_REPORTED", "Problems"]

MAX_REPORTED: Final = 50
"""How many problems an import lists before saying "and N more"."""


@dataclass
class Problems:
    """One validation run: collects problems in file order (keeps at most `MAX_REPORTED` and
    counts the rest) and the cells it normalised, read with `options`."""

    items: list[tuple[int, int, ImportRowError]] = field(default_factory=list)
    total: int = 0
    _files: dict[str, int] = field(default_factory=dict)
    options: CellOptions = field(default_factory=CellOptions)
    _normalised: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def normalise(self, file: str, column: str, source: str, target: str, count: int) -> None:
        """Record that `count` cells of `column` read `source` as `target`."""
        if count:
            self._normalised[(file, column, source, target)] += count

    def normalisations(self) -> tuple[Normalisation, ...]:
        """Every normalisation recorded, by file, column and count (most first)."""
        items = sorted(self._normalised.items(), key=lambda kv: (kv[0][:2], -kv[1], kv[0]))
        return tuple(Normalisation(*k, count=n) for k, n in items)

    def add(self, problem: ImportRowError) -> None:
        """Record one problem."""
        order = self._files.setdefault(str(problem.file), len(self._files))
        self.total += 1
        self.items.append((order, problem.row, problem))

    def add_mask(
        self,
        raw: RawTable,
        bad: pa.Array,
        column: str,
        values: pa.Array,
        expected: str | Callable[[object], str],
    ) -> None:
        """Record every row where `bad` is true (null counts as fine); `expected` may depend
        on the cell's value (a "did you mean")."""
        idx = pc.indices_nonzero(pc.fill_null(bad, False))
        if raw.reported:
            idx = pa.array(
                [i for i in idx.to_pylist() if (i, column) not in raw.reported], pa.uint64()
            )
        n = len(idx)
        if n == 0:
            return
        head = idx[:MAX_REPORTED]
        shown = values.take(head).to_pylist()
        for index, value in zip(head.to_pylist(), shown, strict=True):
            words = expected if isinstance(expected, str) else expected(value)
            self.add(raw.problem(index, column, value, words))
        self.total += n - len(head)

    def raise_if_any(self) -> None:
        """Raise `ImportErrors` (sorted by file then row) when anything was recorded."""
        if not self.total:
            return
        ordered = [p for _, _, p in sorted(self.items, key=lambda t: (t[0], t[1]))]
        shown = ordered[:MAX_REPORTED]
        raise ImportErrors(shown, truncated=self.total - len(shown))

    def merge(self, other: Problems) -> None:
        """Add everything `other` recorded, as if it had been recorded here after what is
        here already."""
        for _, _, problem in other.items:
            self.items.append(
                (self._files.setdefault(str(problem.file), len(self._files)), problem.row, problem)
            )
        self.total += other.total
        self._normalised.update(other._normalised)
