"""Small inline-SVG charts for the HTML report: no JavaScript library, no network.

Every chart is an ``<svg class="plot">`` whose data marks are ``<rect class="mark">``
elements carrying a ``<title>`` (the browser's own tooltip), so the report opens offline,
is byte-identical for the same inputs, and a test can count the marks a browser drew.
Numbers are formatted with fixed precision for that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Series colours (colour-blind safe, from the Okabe-Ito palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


@dataclass(frozen=True)
class Series:
    """One named series of values, aligned with the chart's categories."""

    name: str
    values: Sequence[float]
    color: str = ""


def _fmt(x: float) -> str:
    """Coordinates with one decimal: enough for the eye, stable across runs."""
    return f"{x:.1f}"


def _label(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "score":
        return f"{value:.3f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg_open(kind: str, width: int, height: int, title: str) -> str:
    return (
        f'<svg class="plot" data-kind="{kind}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" style="{FONT};max-width:{width}px">'
    )


def _nice_max(value: float) -> float:
    """The next "round" axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for mult in (1, 2, 2.5, 5, 10):
        if step * mult >= value:
            return step * mult
    return step * 10


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts: list[str] = []
    for i, s in enumerate(series):
        colour = s.color or PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect class="legend" x="{_fmt(x)}" y="{_fmt(y - 9)}" width="10" height="10" '
            f'rx="2" fill="{colour}"/>'
            f'<text x="{_fmt(x + 14)}" y="{_fmt(y)}" font-size="11" fill="#333">'
            f"{escape(s.name)}</text>"
        )
        x += 24 + 6.5 * len(s.name)
    return parts


def column_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    unit: str = "%",
    width: int = 420,
    height: int = 230,
    legend: bool = True,
) -> str:
    """Vertical grouped bars: one group per category, one bar per series.

    Used for feature distributions (share of rows per value, Stage 1 vs synthetic).
    """
    left, right, top, bottom = 56.0, 8.0, 26.0 if legend else 10.0, 52.0
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0.0)
    vmax = _nice_max(peak)
    parts = [_svg_open("columns", width, height, title)]
    for frac in (0.0, 0.5, 1.0):  # light grid with three labelled ticks
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            f'stroke="#e3e3e3"/><text x="{_fmt(left - 4)}" y="{_fmt(y + 3)}" font-size="9" '
            f'text-anchor="end" fill="#777">{_label(vmax * frac, unit)}</text>'
        )
    n_cat = max(1, len(categories))
    group_w = plot_w / n_cat
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    rotate = n_cat > 6 or max((len(c) for c in categories), default=0) * 6 > group_w
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + group_w * 0.1
        for si, s in enumerate(series):
            value = float(s.values[ci]) if ci < len(s.values) else 0.0
            h = plot_h * value / vmax
            colour = s.color or PALETTE[si % len(PALETTE)]
            parts.append(
                f'<rect class="mark" x="{_fmt(gx + si * bar_w)}" y="{_fmt(top + plot_h - h)}" '
                f'width="{_fmt(bar_w)}" height="{_fmt(h)}" fill="{colour}">'
                f"<title>{escape(s.name)} · {escape(cat)}: {_label(value, unit)}</title></rect>"
            )
        cx, ly = left + (ci + 0.5) * group_w, top + plot_h + 11
        text = escape(_short(cat, 13))
        if rotate:
            parts.append(
                f'<text x="{_fmt(cx)}" y="{_fmt(ly)}" font-size="9" fill="#444" '
                f'text-anchor="end" transform="rotate(-30 {_fmt(cx)} {_fmt(ly)})">{text}</text>'
            )
        else:
            parts.append(
                f'<text x="{_fmt(cx)}" y="{_fmt(ly)}" font-size="10" fill="#444" '
                f'text-anchor="middle">{text}</text>'
            )
    parts.append(
        f'<line x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(top + plot_h)}" '
        f'y2="{_fmt(top + plot_h)}" stroke="#999"/>'
    )
    if legend:
        parts.extend(_legend(series, left, 14))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    unit: str = "",
    vmax: float | None = None,
    width: int = 640,
    bar_h: float = 14.0,
    label_w: float = 190.0,
) -> str:
    """Horizontal (grouped) bars with value labels: rankings, rates and scores.

    ``vmax`` fixes the scale (100 for percentages, 1 for scores); else it is "nice" above
    the largest value.
    """
    top, bottom, right = 24.0, 8.0, 64.0
    n_series = max(1, len(series))
    group_h = bar_h * n_series + 6
    height = int(top + bottom + group_h * max(1, len(labels)))
    plot_w = width - label_w - right
    peak = max((v for s in series for v in s.values), default=0.0)
    scale = vmax if vmax is not None else _nice_max(peak)
    scale = scale or 1.0
    parts = [_svg_open("bars", width, height, title)]
    for li, label in enumerate(labels):
        gy = top + li * group_h
        parts.append(
            f'<text x="{_fmt(label_w - 6)}" y="{_fmt(gy + group_h / 2 + 1)}" font-size="11" '
            f'fill="#333" text-anchor="end">{escape(_short(label, int(label_w // 6.5)))}</text>'
        )
        for si, s in enumerate(series):
            value = float(s.values[li]) if li < len(s.values) else 0.0
            w = plot_w * min(value, scale) / scale
            y = gy + si * bar_h + 2
            colour = s.color or PALETTE[si % len(PALETTE)]
            name = f"{escape(s.name)} · " if len(series) > 1 else ""
            parts.append(
                f'<rect class="mark" x="{_fmt(label_w)}" y="{_fmt(y)}" width="{_fmt(w)}" '
                f'height="{_fmt(bar_h - 3)}" rx="2" fill="{colour}">'
                f"<title>{name}{escape(label)}: {_label(value, unit)}</title></rect>"
                f'<text x="{_fmt(label_w + w + 4)}" y="{_fmt(y + bar_h - 5)}" font-size="10" '
                f'fill="#555">{_label(value, unit)}</text>'
            )
    parts.append(
        f'<line x1="{_fmt(label_w)}" x2="{_fmt(label_w)}" y1="{_fmt(top - 2)}" '
        f'y2="{_fmt(height - bottom)}" stroke="#999"/>'
    )
    if len(series) > 1:
        parts.extend(_legend(series, label_w, 14))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(
    parts_in: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: int = 640,
    height: int = 44,
) -> str:
    """One 100% bar split into named parts (e.g. accepted vs rejected), with a legend."""
    total = sum(v for _, v in parts_in) or 1.0
    parts = [_svg_open("stacked", width, height, title)]
    x = 0.0
    for i, (name, value) in enumerate(parts_in):
        w = width * value / total
        colour = PALETTE[(2, 5, 1, 0, 3)[i % 5]]
        share = 100.0 * value / total
        parts.append(
            f'<rect class="mark" x="{_fmt(x)}" y="0" width="{_fmt(w)}" height="24" '
            f'fill="{colour}"><title>{escape(name)}: {_label(value, "")} '
            f"({share:.1f}%)</title></rect>"
        )
        if w > 90:
            parts.append(
                f'<text x="{_fmt(x + 6)}" y="16" font-size="11" fill="#fff">'
                f"{escape(name)} {share:.1f}%</text>"
            )
        x += w
    parts.append("</svg>")
    return "".join(parts)
