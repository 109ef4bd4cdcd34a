"""A stacked bar chart as inline SVG text, in the style of `jiareg.web.plots` (written by hand:
a few dozen elements, no plotting library, no JavaScript).

The chart is an image with a <title> and a <desc>; the page shows the same numbers in a table
beside it (the accessible alternative). A count shown as "<5" (small-cell suppression for
de-identified viewers) is not drawn: the bar would give the number away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape

from jiareg.web.plots import _AXIS, _GRID, _INK, _nice_max, _num, _text

__all__ = ["stacked_bars_svg"]

_WIDTH: Final = 1000
_LEFT: Final = 50
_RIGHT: Final = 820
_TOP: Final = 16
_HEIGHT: Final = 200
_BOTTOM: Final = 44

Cell = int | str


def stacked_bars_svg(
    svg_id: str,
    title: str,
    desc: str,
    columns: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Cell]]],
) -> str:
    """One bar per column, stacked from `series` (label, colour, one count per column)."""
    drawn = [[v if isinstance(v, int) else 0 for v in values] for _, _, values in series]
    totals = [sum(col) for col in zip(*drawn, strict=True)] if drawn else []
    top = _nice_max(max(totals, default=0) or 1)
    step = (_RIGHT - _LEFT) / max(len(columns), 1)
    bar = min(max(step * 0.7, 1.0), 64.0)
    base = _TOP + _HEIGHT

    def y(v: float) -> float:
        return base - v / top * _HEIGHT

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{svg_id}" class="chart" role="img"'
        f' viewBox="0 0 {_WIDTH} {base + _BOTTOM}" aria-labelledby="{svg_id}-t {svg_id}-d">',
        f'<title id="{svg_id}-t">{escape(title)}</title>',
        f'<desc id="{svg_id}-d">{escape(desc)}</desc>',
    ]
    for tick in (0, top / 2, top) if top % 2 == 0 else (0, top):
        out.append(
            f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{_num(y(tick))}" y2="{_num(y(tick))}"'
            f' stroke="{_GRID if tick else _AXIS}"/>'
        )
        out.append(_text(_LEFT - 6, y(tick) + 4, _num(tick), size=10, anchor="end"))
    every = max(1, round(len(columns) / 16))
    for i, column in enumerate(columns):
        x = _LEFT + i * step + (step - bar) / 2
        height = 0
        for (label, colour, _), values in zip(series, drawn, strict=True):
            if values[i]:
                y0 = y(height + values[i])
                out.append(
                    f'<rect x="{_num(x)}" y="{_num(y0)}" width="{_num(bar)}"'
                    f' height="{_num(y(height) - y0)}" fill="{colour}">'
                    f"<title>{escape(column)}, {escape(label)}: {values[i]}</title></rect>"
                )
                height += values[i]
        if i % every == 0:
            out.append(_text(x + bar / 2, base + 16, column, size=10, anchor="middle"))
    for j, (label, colour, _) in enumerate(series):
        ly = _TOP + 8 + j * 18
        out.append(f'<rect x="{_RIGHT + 16}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(_RIGHT + 34, ly + 1, label, size=11))
    out.append(f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{base}" stroke="{_INK}"/>')
    out.append("</svg>")
    return "".join(out)
