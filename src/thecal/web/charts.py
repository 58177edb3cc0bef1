"""Small line charts drawn as inline SVG on the server: no script, no CDN, and they print.

Each chart is drawn from :class:`~thecal.web.models.Series` already computed by the service;
this module only maps times and values to pixels. A table of the same figures sits next to
every chart in the page (``<details>``), so the numbers are readable without the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from markupsafe import Markup

from thecal.service.results import Series
from thecal.units import format_number

WIDTH = 640
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 14, 30


@dataclass(frozen=True)
class HLine:
    """A horizontal line: a threshold such as the low-reservoir alarm volume."""

    value: float
    label: str


@dataclass(frozen=True)
class VLine:
    """A vertical line: a date such as the refill-due date or "now"."""

    at: datetime
    label: str
    kind: str = "marker"  # marker | threshold


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 2.5, 5, 10):
        magnitude = 10 ** len(str(int(value))) / 10
        candidate = step * magnitude
        if candidate >= value:
            return candidate
    return value


def line_chart(series: Sequence[Series | None], *, title: str, hlines: Sequence[HLine] = (),
               vlines: Sequence[VLine] = (), y_min: float | None = 0.0,
               y_max: float | None = None, steps: bool = False,
               zone: tzinfo | None = None) -> Markup:
    """An SVG line chart of one or two series sharing a time axis and a y axis.

    ``zone``: the page's display zone, for the day labels of the time axis (default: the zone
    of the first point).
    """
    drawn = [s for s in series if s is not None and s.points]
    if not drawn:
        return Markup('<p class="hint">No data yet.</p>')
    times = [p.at.timestamp() for s in drawn for p in s.points] + [v.at.timestamp() for v in vlines]
    values = [p.value for s in drawn for p in s.points] + [h.value for h in hlines]
    t0, t1 = min(times), max(times)
    if t1 <= t0:
        t1 = t0 + 86400.0
    lo = min(values) if y_min is None else y_min
    hi = _nice_max(max(values) * 1.08) if y_max is None else y_max
    if hi <= lo:
        hi = lo + 1.0
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def x(ts: float) -> float:
        return _LEFT + (ts - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return _TOP + (1 - (v - lo) / (hi - lo)) * plot_h

    parts: list[str] = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        yy = y(v)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
                     f'{escape(format_number(v, decimals=1))}</text>')
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" '
                 f'y2="{HEIGHT - _BOTTOM}"/>')
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{HEIGHT - _BOTTOM}" '
                 f'y2="{HEIGHT - _BOTTOM}"/>')
    for i in range(4):
        ts = t0 + (t1 - t0) * i / 3
        label = datetime.fromtimestamp(ts, tz=zone or drawn[0].points[0].at.tzinfo
                                       ).strftime("%-d %b")
        anchor = "start" if i == 0 else ("end" if i == 3 else "middle")
        parts.append(f'<text x="{x(ts):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}">'
                     f'{escape(label)}</text>')
    for h in hlines:
        yy = y(h.value)
        parts.append(f'<line class="threshold" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" '
                     f'y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(f'<text class="label-danger" x="{WIDTH - _RIGHT - 4}" y="{yy - 5:.1f}" '
                     f'text-anchor="end">{escape(h.label)}</text>')
    for n, vl in enumerate(vlines):
        xx = x(vl.at.timestamp())
        css = "threshold" if vl.kind == "threshold" else "marker"
        label_css = "label-danger" if vl.kind == "threshold" else "label-ok"
        parts.append(f'<line class="{css}" x1="{xx:.1f}" x2="{xx:.1f}" y1="{_TOP}" '
                     f'y2="{HEIGHT - _BOTTOM}"/>')
        anchor = "end" if xx > WIDTH / 2 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(f'<text class="{label_css}" x="{xx + dx:.1f}" y="{_TOP + 12 + 13 * n}" '
                     f'text-anchor="{anchor}">{escape(vl.label)}</text>')
    for index, s in enumerate(drawn):
        css = "series" if index == 0 else "series-2"
        coords: list[str] = []
        previous: float | None = None
        for p in s.points:
            xx, yy = x(p.at.timestamp()), y(p.value)
            if steps and previous is not None:
                coords.append(f"{xx:.1f},{previous:.1f}")
            coords.append(f"{xx:.1f},{yy:.1f}")
            previous = yy
        parts.append(f'<polyline class="{css}" points="{" ".join(coords)}"/>')
        if len(s.points) <= 40:
            for p in s.points:
                parts.append(f'<circle class="dot" cx="{x(p.at.timestamp()):.1f}" '
                             f'cy="{y(p.value):.1f}" r="3"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
