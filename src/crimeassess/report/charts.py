"""Report charts as self-contained SVG text (matplotlib, no pyplot, no network, no fonts fetched).

Figures are built with :class:`matplotlib.figure.Figure` directly, so no GUI backend is ever touched and
rendering is safe in threads; SVG is written by matplotlib's SVG backend with text kept as text in a
system sans-serif font stack (no font file is embedded or fetched).
"""
from __future__ import annotations

import re

import io
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg", force=False)  # never pick an interactive backend if pyplot gets imported elsewhere

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .chartcache import cached_chart  # noqa: E402
from .formatting import fmt_int, fmt_pct  # noqa: E402

# Sober palette shared with report.css.
NAVY = "#1f3a5f"
NAVY_MID = "#7f99b8"
GREY = "#c3ccd6"
INK = "#222222"
MUTED = "#5b6675"
RISE = "#b2182b"
RISE_PALE = "#f4c2b5"
FALL = "#2166ac"
FALL_PALE = "#bcd7ea"

TEXT_WIDTH_IN = 6.7  # A4 minus 18 mm margins, in inches

_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 8.5,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.titlesize": 9.5,
    # Text stays text (selectable, searchable, small files); the SVG names a font stack ending in
    # sans-serif, and DejaVu Sans is what matplotlib measured with.
    "svg.fonttype": "none",
    "svg.hashsalt": "crimeassess",  # deterministic element ids
    "hatch.linewidth": 0.6,
    "text.parse_math": False,  # a '$' in a ward or theme name is text, not mathtext
    "text.usetex": False,
}


def figure_to_svg(fig: Figure) -> str:
    """Serialise a figure to SVG text (no metadata date, so output is reproducible)."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05, metadata={"Date": None})
    return buf.getvalue()


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height))


def _is_period(item: dict[str, Any], period: dict[str, Any] | None) -> bool:
    if not period:
        return False
    if item.get("label") is not None and item.get("label") == period.get("label"):
        return True
    return (
        item.get("start") is not None
        and item.get("start") == period.get("start")
        and item.get("end") == period.get("end")
    )


@cached_chart("trend_chart_svg")
def trend_chart_svg(
    series: Sequence[dict[str, Any]],
    period: dict[str, Any] | None = None,
    compare: dict[str, Any] | None = None,
    *,
    title: str | None = None,
) -> str | None:
    """Bar chart of recorded crime per period (``total.series``).

    The current period is drawn dark, the comparison period mid-blue, earlier periods grey; periods with
    ``complete: false`` are hatched and labelled "incomplete". Returns ``None`` when the series is empty.
    """
    items = [s for s in series or [] if isinstance(s, dict)]
    if not items:
        return None
    with matplotlib.rc_context(_RC):
        n = len(items)
        fig = _new_figure(TEXT_WIDTH_IN, 2.7 if n > 1 else 2.2)
        ax = fig.add_subplot(1, 1, 1)
        def short(s: dict[str, Any]) -> str:
            label = str(s.get("label") or s.get("start") or "?")
            if re.fullmatch(r"\d{4}-\d{2}", label):  # months as "Mar\n2018", which fit under narrow bars
                label = f"{_MONTH_ABBR[int(label[5:]) - 1]}\n{label[:4]}"
            return label

        labels = [short(s)
                  + (f"\n{s['months_held']} of {s['months']} months" if isinstance(s.get("months_held"), int)
                     and isinstance(s.get("months"), int) and 0 < s["months_held"] < s["months"] else "")
                  for s in items]
        counts = [s.get("count") for s in items]
        known = [c for c in counts if isinstance(c, (int, float))]
        top = max(max(known), 1) if known else 1  # all zero: still an axis (matplotlib warns on equal limits)
        kinds_seen: dict[str, Patch] = {}
        for i, item in enumerate(items):
            count = item.get("count")
            complete = item.get("complete", True) is not False
            if _is_period(item, period):
                colour, key, name = NAVY, "current", f"Current period ({period.get('label', '')})"
            elif _is_period(item, compare):
                colour, key, name = NAVY_MID, "compare", f"Comparison period ({compare.get('label', '')})"
            else:
                colour, key, name = GREY, "other", "Other periods"
            kinds_seen.setdefault(key, Patch(facecolor=colour, edgecolor=colour, label=name))
            if not isinstance(count, (int, float)):
                ax.text(i, top * 0.02, "no data", ha="center", va="bottom", color=MUTED, fontsize=7,
                        rotation=90 if n > 6 else 0)
                continue
            if complete:
                ax.bar(i, count, width=0.62, color=colour, edgecolor=colour, zorder=2)
            else:
                ax.bar(i, count, width=0.62, facecolor="white", edgecolor=colour, hatch="////",
                       linewidth=1.0, zorder=2)
                kinds_seen.setdefault("incomplete", Patch(facecolor="white", edgecolor=MUTED, hatch="////",
                                                          label="Incomplete period (months missing)"))
            ax.text(i, count + top * 0.015, fmt_int(count), ha="center", va="bottom", fontsize=7.8 if n <= 8 else 6.5,
                    color=INK, fontweight="bold" if key == "current" else "normal")
            if not complete and count >= 0.4 * top:  # a shorter bar cannot hold the word: its hatching says it
                ax.text(i, count / 2, "incomplete", ha="center", va="center", rotation=90, fontsize=7,
                        color=INK, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
        ax.set_xticks(range(n), labels)
        slots = max(n, 4)  # a short series keeps bars a sensible width, centred
        pad = (slots - n) / 2
        ax.set_xlim(-0.6 - pad, n - 0.4 + pad)
        ax.set_ylim(0, top * 1.13)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v)))
        ax.set_ylabel("Recorded crimes")
        ax.grid(axis="y", color="#e3e7ec", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="x", length=0)
        if title:
            ax.set_title(title, loc="left", color=NAVY)
        order = [k for k in ("current", "compare", "other", "incomplete") if k in kinds_seen]
        lines = max(label.count("\n") + 1 for label in labels)  # legend below however many label lines
        ax.legend(handles=[kinds_seen[k] for k in order], loc="upper center",
                  bbox_to_anchor=(0.5, -0.09 - 0.07 * lines),
                  ncol=len(order), frameon=False, fontsize=7.5)
        return figure_to_svg(fig)


@cached_chart("monthly_chart_svg")
def monthly_chart_svg(
    monthly: Sequence[dict[str, Any]],
    period: dict[str, Any] | None = None,
    compare: dict[str, Any] | None = None,
) -> str | None:
    """Line of crimes per month held (``total.monthly``), broken where months are missing; the current and
    comparison periods shaded. ``None`` with fewer than two months."""
    items = [m for m in monthly or [] if isinstance(m, dict) and isinstance(m.get("count"), (int, float))]
    if len(items) < 2:
        return None

    def idx(m: str) -> int:
        return int(m[:4]) * 12 + int(m[5:7]) - 1

    with matplotlib.rc_context(_RC):
        fig = _new_figure(TEXT_WIDTH_IN, 2.3)
        ax = fig.add_subplot(1, 1, 1)
        xs = [idx(str(m["month"])) for m in items]
        ys = [m["count"] for m in items]
        for p, colour, name in ((compare, NAVY_MID, "comparison period"), (period, NAVY, "current period")):
            if p and p.get("start") and p.get("end"):
                ax.axvspan(idx(p["start"]) - 0.5, idx(p["end"]) + 0.5, color=colour, alpha=0.10, lw=0,
                           label=f"{name} ({p.get('label', '')})")
        # one line per run of consecutive months: a gap is never drawn as a straight line
        run_x: list[int] = []
        run_y: list[float] = []
        for x, y in zip(xs, ys):
            if run_x and x != run_x[-1] + 1:
                ax.plot(run_x, run_y, color=NAVY, lw=1.4, marker="o", ms=2.8, zorder=3)
                run_x, run_y = [], []
            run_x.append(x)
            run_y.append(y)
        ax.plot(run_x, run_y, color=NAVY, lw=1.4, marker="o", ms=2.8, zorder=3, label="crimes per month held")
        top = max(max(ys), 1)  # all zero: still an axis
        ax.set_ylim(0, top * 1.15)
        lo, hi = min(xs), max(xs)
        step = max(1, (hi - lo + 1) // 12)
        ticks = list(range(lo, hi + 1, step))
        ax.set_xticks(ticks, [f"{_MONTH_ABBR[t % 12]} {t // 12 % 100:02d}" for t in ticks], fontsize=7)
        ax.set_xlim(lo - 0.8, hi + 0.8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v)))
        ax.set_ylabel("Crimes a month")
        ax.grid(axis="y", color="#e3e7ec", linewidth=0.6, zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False, fontsize=7.5)
        return figure_to_svg(fig)


_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cached_chart("theme_change_chart_svg")
def theme_change_chart_svg(themes: Sequence[dict[str, Any]], *, small_mark: str = "\u2020") -> str | None:
    """Diverging horizontal bars of % change per theme, sorted; significant changes solid, others pale
    and hatched; small-number themes marked with ``small_mark`` after the label.

    Themes that are unavailable or have no % change (previous count 0) are left out; returns ``None``
    when nothing is left to draw.
    """
    rows = [
        t for t in themes or []
        if isinstance(t, dict) and t.get("available", True) is not False
        and isinstance(t.get("pct_change"), (int, float))
    ]
    if not rows:
        return None
    rows.sort(key=lambda t: float(t["pct_change"]))
    with matplotlib.rc_context(_RC):
        height = 0.9 + 0.27 * len(rows)
        fig = _new_figure(TEXT_WIDTH_IN, height)
        ax = fig.add_subplot(1, 1, 1)
        values = [float(t["pct_change"]) for t in rows]
        span = max(max(abs(v) for v in values), 1.0)
        any_small = False
        for i, (t, v) in enumerate(zip(rows, values)):
            significant = bool(t.get("significant"))
            rise = v > 0
            if significant:
                ax.barh(i, v, height=0.62, color=RISE if rise else FALL, zorder=2)
            else:
                edge = RISE if rise else FALL
                ax.barh(i, v, height=0.62, facecolor=RISE_PALE if rise else FALL_PALE, edgecolor=edge,
                        hatch="///", linewidth=0.5, zorder=2)
            label = fmt_pct(v)
            shown = t.get("matched_current", t.get("current"))  # the count the change was computed on
            if shown is not None:
                label += f"  ({fmt_int(shown)})"
            offset = span * 0.02
            ax.text(v + (offset if v >= 0 else -offset), i, label, va="center",
                    ha="left" if v >= 0 else "right", fontsize=7.5, color=INK)
            any_small = any_small or bool(t.get("small_numbers"))
        ylabels = [
            f"{t.get('label') or t.get('id')}{' ' + small_mark if t.get('small_numbers') else ''}" for t in rows
        ]
        ax.set_yticks(range(len(rows)), ylabels)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(-span * 1.45, span * 1.45)
        ax.axvline(0, color=INK, linewidth=0.8, zorder=3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_pct(v, digits=0)))
        ax.set_xlabel("% change, like for like (current count compared in brackets)")
        ax.grid(axis="x", color="#e3e7ec", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
        handles = [
            Patch(facecolor=RISE, label="Significant rise"),
            Patch(facecolor=FALL, label="Significant fall"),
            Patch(facecolor="#eeeeee", edgecolor=MUTED, hatch="///", linewidth=0.5,
                  label="Not statistically significant"),
        ]
        if any_small:
            handles.append(Patch(facecolor="none", edgecolor="none", label=f"{small_mark} small numbers"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.5 / height - 0.12),
                  ncol=len(handles), frameon=False, fontsize=7.5)
        return figure_to_svg(fig)


# ------------------------------------------------------------------ issue 16: expected band, density map
@cached_chart("expected_band_svg")
def expected_band_svg(months: Sequence[dict[str, Any]], level: float = 0.99) -> str | None:
    """Observed crimes per month against the forecast and its prediction interval (``expected.total.months``);
    months outside the band are marked. ``None`` without months."""
    items = [m for m in months or [] if isinstance(m, dict) and m.get("expected") is not None]
    if not items:
        return None
    with matplotlib.rc_context(_RC):
        fig = _new_figure(TEXT_WIDTH_IN, 2.4)
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(items)))
        ax.fill_between(xs, [m["lower"] for m in items], [m["upper"] for m in items], color=NAVY_MID, alpha=0.25,
                        lw=0, label=f"{fmt_pct(level * 100, signed=False, digits=0)} prediction interval")
        ax.plot(xs, [m["expected"] for m in items], color=NAVY_MID, lw=1.2, ls="--", label="expected")
        ax.plot(xs, [m["observed"] for m in items], color=NAVY, lw=1.4, marker="o", ms=3, label="recorded", zorder=3)
        out = [(x, m) for x, m in zip(xs, items) if m.get("outside")]
        if out:
            ax.scatter([x for x, _ in out], [m["observed"] for _, m in out], s=42, facecolor="none",
                       edgecolor=RISE, lw=1.4, zorder=4, label="outside the interval")
        ax.set_xticks(xs, [f"{_MONTH_ABBR[int(m['month'][5:7]) - 1]} {m['month'][2:4]}" for m in items], fontsize=7)
        lo = min(min(m["lower"] for m in items), min(m["observed"] for m in items))
        hi = max(max(m["upper"] for m in items), max(m["observed"] for m in items))
        ax.set_ylim(max(0, lo - 0.15 * (hi - lo)), hi + 0.1 * (hi - lo))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v)))
        ax.set_ylabel("Crimes a month")
        ax.grid(axis="y", color="#e3e7ec", linewidth=0.6, zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False, fontsize=7.5)
        return figure_to_svg(fig)


@cached_chart("density_map_svg")
def density_map_svg(cells: Sequence[dict[str, Any]], *, cell: float, bandwidth: float, wards_geo: Any = None,
                    caveat: str | None = None) -> str | None:
    """Kernel density of crimes (a Gaussian kernel of `bandwidth` metres over the grid-cell counts of the
    current period), ward outlines, and the hotspot cells outlined (new ones in red). The caveat, when given
    (police.uk's anonymised points), is written on the map itself."""
    # numpy/scipy.ndimage are needed only for this map; the rest of the module draws from plain lists.
    import numpy as np
    from matplotlib.patches import Rectangle
    from scipy.ndimage import gaussian_filter

    rows = [c for c in cells or [] if isinstance(c, dict) and c.get("x") is not None]
    if not rows:
        return None
    xs = np.array([r["x"] for r in rows])
    ys = np.array([r["y"] for r in rows])
    x0, y0 = xs.min() - 4 * cell, ys.min() - 4 * cell
    nx, ny = int(round((xs.max() - x0) / cell)) + 5, int(round((ys.max() - y0) / cell)) + 5
    grid = np.zeros((ny, nx))
    for r in rows:
        grid[int(round((r["y"] - y0) / cell - 0.5)), int(round((r["x"] - x0) / cell - 0.5))] += r.get("current") or 0
    dens = gaussian_filter(grid, sigma=bandwidth / cell, mode="constant") / (cell / 1000) ** 2
    with matplotlib.rc_context(_RC):
        fig = _new_figure(TEXT_WIDTH_IN, 4.6)
        ax = fig.add_subplot(1, 1, 1)
        # filled contours stay vector (no raster image inside the SVG); the faintest 2% is left blank
        gx = x0 + (np.arange(nx) + 0.5) * cell
        gy = y0 + (np.arange(ny) + 0.5) * cell
        from matplotlib.ticker import MaxNLocator

        levels = MaxNLocator(nbins=8).tick_values(0, dens.max())
        shown = np.where(dens >= dens.max() * 0.02, dens, np.nan)
        im = ax.contourf(gx, gy, shown, levels=levels, cmap="YlOrRd", zorder=1)
        if wards_geo is not None:
            from .wardmap import normalise_wards_geo

            g = normalise_wards_geo(wards_geo)
            g.boundary.plot(ax=ax, color=MUTED, lw=0.5, zorder=2)
        for r in rows:
            if r.get("hot"):
                colour = RISE if r.get("category") == "new" else NAVY
                ax.add_patch(Rectangle((r["x"] - cell / 2, r["y"] - cell / 2), cell, cell,
                                                          fill=False, ec=colour, lw=0.9 if colour == RISE else 0.4,
                                                          zorder=3))
        ax.set_aspect("equal")
        ax.set_axis_off()
        cb = fig.colorbar(im, ax=ax, shrink=0.6, pad=0.01)
        cb.set_label("crimes per km² (kernel density)", fontsize=7.5)
        cb.ax.tick_params(labelsize=7)
        cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v)))
        handles = [Patch(fill=False, ec=NAVY, lw=0.6, label=f"hotspot cell ({int(cell)} m)"),
                   Patch(fill=False, ec=RISE, lw=1.0, label="new hotspot cell")]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False, fontsize=7)
        if caveat:
            ax.text(0.0, -0.09, caveat, transform=ax.transAxes, fontsize=6.8, color=INK, va="top", wrap=True)
        return figure_to_svg(fig)
