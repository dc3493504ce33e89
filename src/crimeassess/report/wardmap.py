"""Ward choropleth of % change: diverging classes centred on zero (rises and falls each scaled to their own
largest change, falls never past −100%), labels, legend, north arrow and scale bar, as SVG text."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib import colormaps  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from ..errors import GeographyError  # noqa: E402
from .chartcache import cached_chart  # noqa: E402
from .charts import INK, NAVY, TEXT_WIDTH_IN, _RC, _new_figure, figure_to_svg  # noqa: E402
from .formatting import fmt_pct  # noqa: E402

BNG = "EPSG:27700"
NO_CHANGE = "#f2f2f2"
NO_COMPARISON = "#bdbdbd"
NO_DATA = "#ffffff"

_NICE_STEPS = (1, 2, 2.5, 5)


@dataclass
class WardClasses:
    """Three classes each side of zero: rises ``step`` wide, falls ``step_down`` wide (the outer ones
    open-ended); a fall can't pass −100%, so its classes are scaled to the falls in the data."""

    step: float
    colours: dict[str, str]  # class key -> hex colour
    labels: dict[str, str]   # class key -> legend label
    order: list[str]         # legend order, largest rise first
    step_down: float | None = None


@dataclass
class WardMap:
    """What :func:`ward_map_svg` drew: the SVG, and wards it could not draw or had no data for."""

    svg: str
    classes: WardClasses | None
    ward_class: dict[str, str] = field(default_factory=dict)   # ward code -> class key
    missing_geometry: list[str] = field(default_factory=list)  # assessment wards with no polygon
    without_data: list[str] = field(default_factory=list)      # polygons with no assessment ward


def nice_step(max_abs: float, classes_per_side: int = 3) -> float:
    """Smallest 'nice' number (1, 2, 2.5, 5 × 10^k) with classes_per_side × step ≥ max_abs."""
    target = max(float(max_abs), 1e-9) / classes_per_side
    exp = math.floor(math.log10(target))
    for mult in (*_NICE_STEPS, 10):
        step = mult * 10**exp
        if step >= target - 1e-12:
            return float(step)
    return float(10 ** (exp + 1))


def _pct_text(x: float) -> str:
    return fmt_pct(x, digits=0 if float(x).is_integer() else 1)


def make_classes(values: Sequence[float | None]) -> WardClasses | None:
    """Build symmetric diverging classes (RdBu_r) for the % changes given; ``None`` if none is numeric."""
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not math.isnan(float(v))]
    if not nums:
        return None
    # One scale for rises and falls: a colour's depth says how large a change is, whichever way (scaled
    # separately, a ward's −2.5% took the deepest blue beside +24.8% in the deepest red). Falls stop at −100%.
    step = nice_step(max([abs(v) for v in nums if v] or [1.0]))
    down = min(step, 100.0)
    cmap = colormaps["RdBu_r"]
    # Sample away from the extremes and the white centre so every class is distinguishable.
    positions = {"f3": 0.06, "f2": 0.2, "f1": 0.36, "r1": 0.64, "r2": 0.8, "r3": 0.94}
    colours = {k: to_hex(cmap(p)) for k, p in positions.items()}
    colours["zero"] = NO_CHANGE
    s1, s2 = step, 2 * step
    d1, d2 = down, min(2 * down, 100.0)
    labels = {
        "r3": f"{_pct_text(s2)} or more",
        "r2": f"{_pct_text(s1)} to {_pct_text(s2)}",
        "r1": f"0% to {_pct_text(s1)}",
        "zero": "no change",
        "f1": f"0% to {_pct_text(-d1)}",
        "f2": f"{_pct_text(-d1)} to {_pct_text(-d2)}" if d2 > d1 else f"{_pct_text(-d1)}",
        "f3": f"{_pct_text(-d2)} or less" if d2 < 100 else f"{_pct_text(-100.0)}",
    }
    order = ["r3", "r2", "r1", "zero", "f1", "f2", "f3"]
    if d1 >= 100:  # a single fall class reaches −100%
        order = ["r3", "r2", "r1", "zero", "f1"]
    return WardClasses(step=step, colours=colours, labels=labels, order=order, step_down=down)


def classify(value: float | None, classes: WardClasses | None) -> str:
    """Class key for one % change: 'r1'..'r3' rises, 'f1'..'f3' falls, 'zero', or 'none' (no % change)."""
    if classes is None or not isinstance(value, (int, float)) or math.isnan(float(value)):
        return "none"
    v = float(value)
    if v == 0:
        return "zero"
    step = classes.step if v > 0 or classes.step_down is None else classes.step_down
    band = 1 if abs(v) < step else 2 if abs(v) < 2 * step else 3
    return f"{'r' if v > 0 else 'f'}{band}"


def normalise_wards_geo(wards_geo: Any) -> Any:
    """Return a GeoDataFrame with columns code, name, geometry in EPSG:27700.

    Accepts ONS-style column names (``WD22CD``/``WD22NM`` …) when ``code``/``name`` are absent. A frame
    with no CRS is taken to be British National Grid already.
    """
    import geopandas as gpd

    if not isinstance(wards_geo, gpd.GeoDataFrame):
        raise GeographyError("wards_geo must be a GeoDataFrame with columns code, name, geometry")
    gdf = wards_geo
    cols = {c.lower(): c for c in gdf.columns}
    code_col = cols.get("code") or next((c for c in gdf.columns if re.fullmatch(r"(?i)WD\d\dCD", str(c))), None)
    name_col = cols.get("name") or next((c for c in gdf.columns if re.fullmatch(r"(?i)WD\d\dNM", str(c))), None)
    if code_col is None:
        raise GeographyError("wards_geo has no 'code' column (ward codes such as E05002469)")
    out = gpd.GeoDataFrame(
        {
            "code": gdf[code_col].astype(str),
            "name": gdf[name_col].astype(str) if name_col is not None else gdf[code_col].astype(str),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )
    out = out[~out.geometry.isna() & ~out.geometry.is_empty]
    if out.empty:
        raise GeographyError("wards_geo has no ward polygons")
    if out.crs is None:
        out = out.set_crs(BNG)
    elif out.crs.to_epsg() != 27700:
        out = out.to_crs(BNG)
    # Several rows per ward (multi-part exports) are merged into one shape per code.
    if out["code"].duplicated().any():
        out = out.dissolve(by="code", aggfunc="first").reset_index()
    return out


def _nice_length(metres: float) -> float:
    exp = math.floor(math.log10(max(metres, 1.0)))
    for mult in (5, 2, 1):
        if mult * 10**exp <= metres:
            return float(mult * 10**exp)
    return float(10**exp)


def _scale_bar(ax: Any, bounds: Sequence[float]) -> None:
    minx, miny, maxx, maxy = bounds
    width = maxx - minx
    length = _nice_length(width / 4)
    x0 = minx + width * 0.02
    y0 = miny + (maxy - miny) * 0.03
    h = (maxy - miny) * 0.012
    half = length / 2
    ax.add_patch(Rectangle((x0, y0), half, h, facecolor=INK, edgecolor=INK, linewidth=0.6, zorder=5))
    ax.add_patch(Rectangle((x0 + half, y0), half, h, facecolor="white", edgecolor=INK, linewidth=0.6, zorder=5))
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)

    def lab(v: float) -> str:
        x = v / div
        return f"{x:g}"

    for frac, val in ((0, 0), (0.5, half), (1, length)):
        ax.text(x0 + length * frac, y0 + h * 1.8, lab(val) + (f" {unit}" if frac == 1 else ""),
                ha="center", va="bottom", fontsize=6.5, color=INK, zorder=5)


def _north_arrow(ax: Any) -> None:
    ax.annotate("", xy=(0.96, 0.97), xytext=(0.96, 0.87), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>", "color": INK, "linewidth": 1.2, "mutation_scale": 10})
    ax.text(0.96, 0.845, "N", transform=ax.transAxes, ha="center", va="top", fontsize=8, fontweight="bold",
            color=INK)


def _label_point(geom: Any) -> Any:
    """Pole of inaccessibility of the largest part: labels sit in the roomiest spot, not at an edge."""
    from shapely.ops import polylabel

    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
    try:
        return polylabel(part, tolerance=max(part.length / 500, 1.0))
    except Exception:  # degenerate rings: fall back to a point guaranteed inside
        return geom.representative_point()


def _encode_map(m: "WardMap") -> dict[str, Any]:
    return asdict(m)


def _decode_map(d: dict[str, Any]) -> "WardMap":
    classes = WardClasses(**d["classes"]) if d.get("classes") else None
    return WardMap(svg=d["svg"], classes=classes, ward_class=d["ward_class"], missing_geometry=d["missing_geometry"],
                   without_data=d["without_data"])


@cached_chart("ward_map_svg", encode=_encode_map, decode=_decode_map)
def ward_map_svg(wards: Sequence[dict[str, Any]], wards_geo: Any, *, label: bool = True) -> WardMap:
    """Draw the choropleth of ward % change.

    ``wards`` are the assessment's ward dicts (code, name, pct_change, significant); ``wards_geo`` a
    GeoDataFrame (see :func:`normalise_wards_geo`). Wards with a significant change get a heavier outline.
    """
    gdf = normalise_wards_geo(wards_geo)
    by_code = {str(w.get("code")): w for w in wards or [] if isinstance(w, dict)}
    geo_codes = set(gdf["code"])
    missing_geometry = [str(w.get("name") or c) for c, w in by_code.items() if c not in geo_codes]
    without_data = sorted(gdf.loc[~gdf["code"].isin(by_code.keys()), "name"].tolist())
    classes = make_classes([w.get("pct_change") for w in by_code.values()])

    minx, miny, maxx, maxy = gdf.total_bounds
    extent = max(maxx - minx, maxy - miny)
    gdf = gdf.copy()
    gdf["geometry"] = gdf.geometry.simplify(extent / 1500, preserve_topology=True)

    aspect = (maxy - miny) / max(maxx - minx, 1.0)
    map_w = TEXT_WIDTH_IN * 0.7
    map_h = min(max(map_w * aspect, 2.8), 7.5)
    ward_class: dict[str, str] = {}
    seen: set[str] = set()
    with matplotlib.rc_context(_RC):
        fig = _new_figure(TEXT_WIDTH_IN, map_h)
        ax = fig.add_axes((0.0, 0.0, 0.7, 1.0))
        n = len(gdf)
        font = 7 if n <= 20 else 6 if n <= 35 else 5
        faces, sig_flags, nodata_flags = [], [], []
        for code in gdf["code"]:
            ward = by_code.get(code)
            if ward is None:
                key, face = "nodata", NO_DATA
            else:
                key = classify(ward.get("pct_change"), classes)
                face = classes.colours[key] if classes and key in classes.colours else NO_COMPARISON
                ward_class[code] = key
            seen.add(key)
            faces.append(face)
            sig_flags.append(bool(ward and ward.get("significant")))
            nodata_flags.append(ward is None)
        gdf["face"] = faces
        sig = gdf[sig_flags]
        plain = gdf[[not f for f in sig_flags]]
        nodata = gdf[nodata_flags]
        if not plain.empty:
            plain.plot(ax=ax, color=plain["face"].tolist(), edgecolor="white", linewidth=0.8, zorder=2)
        if not nodata.empty:
            nodata.plot(ax=ax, facecolor="none", edgecolor="#8a949f", hatch="....", linewidth=0.3, zorder=2.2)
        gdf.boundary.plot(ax=ax, color="#8a949f", linewidth=0.3, zorder=2.5)
        if not sig.empty:
            sig.plot(ax=ax, color=sig["face"].tolist(), edgecolor=INK, linewidth=1.3, zorder=3)
        if label:
            # A translucent box rather than a stroked halo: halos become glyph outlines in SVG (~20 kB
            # per label), which makes the PDF slow to print.
            box = {"boxstyle": "round,pad=0.12", "facecolor": "white", "alpha": 0.72, "edgecolor": "none"}
            for row in gdf.itertuples(index=False):
                ward = by_code.get(row.code)
                pt = _label_point(row.geometry)
                name = str(ward.get("name") if ward and ward.get("name") else row.name)
                text = name if ward is None else f"{name}\n{fmt_pct(ward.get('pct_change'))}"
                ax.text(pt.x, pt.y, text, ha="center", va="center", fontsize=font, color=INK,
                        linespacing=1.05, bbox=box, zorder=6)
        pad = extent * 0.03
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect("equal")
        ax.set_axis_off()
        _scale_bar(ax, (minx - pad, miny - pad, maxx + pad, maxy + pad))
        _north_arrow(ax)

        handles = []
        if classes:
            for k in classes.order:
                if k == "zero" and k not in seen:
                    continue
                handles.append(Patch(facecolor=classes.colours[k], edgecolor="#8a949f", linewidth=0.4,
                                     label=classes.labels[k]))
        if "none" in seen:
            handles.append(Patch(facecolor=NO_COMPARISON, edgecolor="#8a949f", linewidth=0.4,
                                 label="no % change (none last period)"))
        if "nodata" in seen:
            handles.append(Patch(facecolor=NO_DATA, edgecolor="#8a949f", hatch="....", linewidth=0.4,
                                 label="no data for ward"))
        handles.append(Patch(facecolor="white", edgecolor=INK, linewidth=1.3,
                             label="significant change"))
        leg_ax = fig.add_axes((0.71, 0.0, 0.29, 1.0))
        leg_ax.set_axis_off()
        leg_ax.legend(handles=handles, loc="center left", frameon=False, fontsize=7.5,
                      title="% change in recorded crime", title_fontsize=8, alignment="left",
                      handlelength=1.6, handleheight=1.1, labelcolor=INK)
        leg_ax.get_legend().get_title().set_color(NAVY)
        svg = figure_to_svg(fig)
    return WardMap(svg=svg, classes=classes, ward_class=ward_class, missing_geometry=missing_geometry,
                   without_data=without_data)
