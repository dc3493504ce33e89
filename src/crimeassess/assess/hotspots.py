"""Hotspots: Getis-Ord Gi* over LSOAs and over a regular grid, and how hotspots changed between the periods.

* **Units.** LSOAs (polygons from the loaded LSOA boundaries; neighbours by queen contiguity, libpysal
  ``Queen``) and square grid cells of ``CELL_SIZE`` metres on the British National Grid (neighbours: the eight
  cells around, libpysal ``DistanceBand`` at 1.5 cells) covering the area's crimes with a location.
* **Statistic.** Gi* (esda ``G_Local`` with ``star=True``, binary weights): a unit and its neighbours hold more
  (or fewer) crimes than the area's average would give. Two-sided p-values from the normal approximation
  (``Zs``), controlled for the false discovery rate (Benjamini–Hochberg, esda ``fdr``) at ``ALPHA``: a unit is
  a **hotspot** when z > 0 and p ≤ the FDR cut-off.
* **Like for like.** Each period's counts come from the months held in both periods (the matched months), so
  the two maps cover the same time.
* **Change** (after sfhotspot's ``hotspot_change`` / ``hotspot_classify``): **new** (a hotspot now, not in the
  comparison period), **intensifying** (a hotspot in both, its count significantly higher by the
  quasi-Poisson test of ``assess/stats.py``), **persistent** (a hotspot in both otherwise), **diminishing** (a
  hotspot in the comparison period that is no longer one, or whose count fell significantly).
* **Density.** Grid-cell counts are kept so the report can draw a kernel density map (a Gaussian kernel of
  ``BANDWIDTH`` metres over the cell counts).

police.uk's points are anonymised map points: each crime is snapped to one of a set of points near where it
happened, so a hotspot made from them shows where the snapped points cluster. The block's ``caveat`` says so
whenever the source is police.uk, and every map drawn from it repeats it.

Attributes of the results are documented on :class:`UnitHotspots` and :class:`Hotspots`.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import sql
from ..store import Store
from . import fitworker, present, stats
from .periods import Period, months_in_words

#: Grid cell size in metres (British National Grid).
CELL_SIZE = 250
#: False discovery rate.
ALPHA = 0.05
#: Gaussian kernel bandwidth (metres) of the density map.
BANDWIDTH = 400
#: Fewest crimes with a location in the current period for a hotspot analysis.
MIN_CRIMES = 50

CATEGORIES = ("new", "intensifying", "persistent", "diminishing")

SNAPPED_CAVEAT = ("police.uk locations are anonymised map points: each crime is snapped to one of a set of "
                  "points near where it happened, so these hotspots show where the snapped points cluster, "
                  "not exact locations.")


def gi_star(y: Sequence[float], w: Any, alpha: float = ALPHA) -> dict[str, np.ndarray]:
    """Gi* (esda ``G_Local``, star=True, binary weights) of counts `y` on libpysal weights `w`.

    Returns ``z``, two-sided ``p``, the FDR cut-off ``cutoff`` and boolean ``hot``/``cold`` arrays."""
    # esda and scipy cost about a second to import: only assessments that map hotspots pay for it.
    import esda
    from scipy.stats import norm

    y = np.asarray(y, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    p = 2 * norm.sf(np.abs(z))
    cutoff = float(esda.fdr(p, alpha)) if y.size else 0.0
    sig = p <= cutoff
    return {"z": z, "p": p, "cutoff": np.float64(cutoff), "hot": sig & (z > 0), "cold": sig & (z < 0)}


def classify_change(hot_now: bool, hot_before: bool, change_sig: bool, change: int) -> str | None:
    """The change category of one unit: new, intensifying, persistent, diminishing or None (never a hotspot)."""
    if hot_now and not hot_before:
        return "new"
    if hot_now and hot_before:
        if change_sig and change > 0:
            return "intensifying"
        if change_sig and change < 0:
            return "diminishing"
        return "persistent"
    if hot_before:
        return "diminishing"
    return None


@dataclass
class UnitHotspots:
    """Gi* over one kind of unit (LSOAs or grid cells) for both periods.

    Attributes
    ----------
    unit : str
        ``lsoa`` or ``grid``.
    units : int
        Number of units analysed.
    rows : list[dict]
        Per unit: ``id`` (LSOA code or cell ``x_y`` of its south-west corner in metres), ``name``, ``x``, ``y``
        (centre, EPSG:27700), ``current``, ``previous`` (matched counts), ``z``, ``p``, ``hot``,
        ``previous_z``, ``previous_hot``, ``significant`` (the count change, quasi-Poisson) and ``category``.
    cutoff, previous_cutoff : float
        The FDR p-value cut-offs.
    """

    unit: str
    units: int
    rows: list[dict[str, Any]]
    cutoff: float
    previous_cutoff: float

    def counts(self) -> dict[str, int]:
        """Units in each change category, and hotspots now."""
        out = {c: sum(r["category"] == c for r in self.rows) for c in CATEGORIES}
        out["hotspots"] = sum(bool(r["hot"]) for r in self.rows)
        return out

    def to_dict(self, all_rows: bool = True) -> dict[str, Any]:
        rows = self.rows if all_rows else [r for r in self.rows if r["hot"] or r["previous_hot"] or r["current"]]
        return {"unit": self.unit, "units": self.units, "fdr_cutoff": self.cutoff,
                "previous_fdr_cutoff": self.previous_cutoff, "summary": self.counts(), "rows": rows}


@dataclass
class Hotspots:
    """The hotspot block of an assessment (``assessment["hotspots"]``).

    Attributes
    ----------
    available : bool
        Whether any analysis was made.
    note : str | None
        Why not, or what was left out (no LSOA boundaries, too few crimes with a location).
    lsoa, grid : UnitHotspots | None
        Gi* over LSOAs and over the grid.
    cell_size, bandwidth, alpha : int, int, float
        Grid cell size and density bandwidth (metres); the false discovery rate.
    caveat : str | None
        The anonymised-points caveat for police.uk sources.
    findings : list[str]
        The sentences the findings carry.
    """

    available: bool
    note: str | None = None
    lsoa: UnitHotspots | None = None
    grid: UnitHotspots | None = None
    cell_size: int = CELL_SIZE
    bandwidth: int = BANDWIDTH
    alpha: float = ALPHA
    caveat: str | None = None
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "note": self.note, "method": "Getis-Ord Gi* (esda), "
                "queen contiguity, false discovery rate control (Benjamini-Hochberg)",
                "alpha": self.alpha, "cell_size": self.cell_size, "bandwidth": self.bandwidth, "caveat": self.caveat,
                "lsoa": self.lsoa.to_dict() if self.lsoa else None,
                "grid": self.grid.to_dict(all_rows=False) if self.grid else None, "findings": self.findings}


def _unit_rows(ids: list[str], names: list[str], xy: np.ndarray, cur: np.ndarray, prev: np.ndarray, w: Any,
               unit: str, dispersion: float | None, alpha: float) -> UnitHotspots:
    if not any(i in w.neighbors[i] for i in w.id_order):  # no unit its own neighbour yet
        from libpysal.weights import fill_diagonal

        # Gi* needs each unit as its own neighbour: esda would add the diagonal for each period (converting the
        # weights twice); added once here, both periods use it as it is.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = fill_diagonal(w, 1)
    now, before = gi_star(cur, w, alpha), gi_star(prev, w, alpha)
    rows = [{"id": ids[i], "name": names[i], "x": round(float(xy[i, 0]), 1), "y": round(float(xy[i, 1]), 1),
             "current": int(cur[i]), "previous": int(prev[i]), "matched_current": int(cur[i]),
             "matched_previous": int(prev[i]), "z": round(float(now["z"][i]), 3), "p": float(now["p"][i]),
             "hot": bool(now["hot"][i]), "previous_z": round(float(before["z"][i]), 3),
             "previous_hot": bool(before["hot"][i]), "dispersion": dispersion} for i in range(len(ids))]
    tested = [r for r in rows if r["hot"] or r["previous_hot"]]
    for r, t in zip(tested, stats.annotate_table(tested) if tested else []):
        r["significant"], r["change"] = bool(t.get("significant")), t.get("change")
    for r in rows:
        r.setdefault("significant", False)
        r.setdefault("change", r["current"] - r["previous"])
        r["category"] = classify_change(r["hot"], r["previous_hot"], r["significant"], r["change"] or 0)
        r.pop("matched_current"), r.pop("matched_previous"), r.pop("dispersion")
    return UnitHotspots(unit, len(ids), rows, float(now["cutoff"]), float(before["cutoff"]))


def lsoa_hotspots(polygons: Any, cur: Mapping[str, int], prev: Mapping[str, int], *, dispersion: float | None = None,
                  alpha: float = ALPHA) -> UnitHotspots:
    """Gi* over LSOA polygons (GeoDataFrame with ``code``, ``name``; EPSG:27700), queen contiguity."""
    # libpysal costs about a second to import: only assessments that map hotspots pay for it.
    from libpysal.weights import Queen

    polygons = polygons.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands (an LSOA with no neighbour) are kept, with a warning
        w = Queen.from_dataframe(polygons, use_index=False)
    ids = [str(c) for c in polygons["code"]]
    names = [str(n) for n in polygons.get("name", polygons["code"])]
    cent = polygons.geometry.representative_point()
    xy = np.column_stack([cent.x, cent.y])
    return _unit_rows(ids, names, xy, np.array([cur.get(i, 0) for i in ids], float),
                      np.array([prev.get(i, 0) for i in ids], float), w, "lsoa", dispersion, alpha)


def grid_hotspots(x_cur: np.ndarray, y_cur: np.ndarray, x_prev: np.ndarray, y_prev: np.ndarray, *,
                  cell: int = CELL_SIZE, dispersion: float | None = None, alpha: float = ALPHA) -> UnitHotspots:
    """Gi* over square cells of `cell` metres covering every cell that held a crime in either period and the
    cells between them (the bounding box), queen neighbours."""
    xs, ys = np.concatenate([x_cur, x_prev]), np.concatenate([y_cur, y_prev])
    x0, y0 = np.floor(xs.min() / cell) * cell, np.floor(ys.min() / cell) * cell
    nx, ny = int((xs.max() - x0) // cell) + 1, int((ys.max() - y0) // cell) + 1

    def binned(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        i = ((x - x0) // cell).astype(int) * ny + ((y - y0) // cell).astype(int)
        return np.bincount(i, minlength=nx * ny).astype(float)

    cur, prev = binned(x_cur, y_cur), binned(x_prev, y_prev)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    centre = np.column_stack([x0 + (gx.ravel() + 0.5) * cell, y0 + (gy.ravel() + 0.5) * cell])
    # Cells within reach of any crime in either period: the area's occupied land, not empty sea or fields far
    # from everything, which would lower the average and make ordinary places look hot.
    occupied = (cur + prev) > 0
    near = np.zeros(nx * ny, bool)
    occ = occupied.reshape(nx, ny)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            near |= np.roll(np.roll(occ, dx, axis=0), dy, axis=1).ravel()
    keep = np.flatnonzero(near)
    w = _grid_weights(keep, nx, ny)
    ids = [f"{int(centre[k, 0] - cell / 2)}_{int(centre[k, 1] - cell / 2)}" for k in keep]
    return _unit_rows(ids, ids, centre[keep], cur[keep], prev[keep], w, "grid", dispersion, alpha)


def _grid_weights(keep: np.ndarray, nx: int, ny: int) -> Any:
    """Binary queen weights among the kept cells of an nx × ny grid (cell i = column * ny + row), each cell its
    own neighbour too (Gi*): the cells whose centres lie within 1.5 cells, as a distance band of 1.5 cells gives,
    worked out from the grid instead of a k-d tree."""
    from libpysal.weights import W

    index = np.full(nx * ny, -1)
    index[keep] = np.arange(keep.size)
    col, row = keep // ny, keep % ny
    nbrs: list[list[int]] = [[] for _ in range(keep.size)]
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            c, r = col + dx, row + dy
            ok = (c >= 0) & (c < nx) & (r >= 0) & (r < ny)
            j = np.full(keep.size, -1)
            j[ok] = index[c[ok] * ny + r[ok]]
            for a, b in zip(np.flatnonzero(j >= 0).tolist(), j[j >= 0].tolist()):
                nbrs[a].append(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cells apart from all others (islands) are kept
        return W({i: sorted(n) for i, n in enumerate(nbrs)}, {i: [1.0] * len(n) for i, n in enumerate(nbrs)},
                 silence_warnings=True)


#: A map point is left out of the grid when it lies farther from the median of the area's points than both this
#: (metres) and twice the distance within which 99% of them lie: one crime geocoded to the wrong town would
#: otherwise stretch the grid (and its map) across the country, a grid of millions of cells.
FAR_MIN_M = 5000.0


def near_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of the points (BNG metres) near the rest of the area's: see FAR_MIN_M."""
    if x.size < MIN_CRIMES:
        return np.ones(x.size, bool)
    d = np.hypot(x - np.median(x), y - np.median(y))
    return d <= max(2.0 * float(np.percentile(d, 99)), FAR_MIN_M)


def _points(con: Any, rows_where: str, months: list[str], table: str = "placed") -> tuple[np.ndarray, np.ndarray]:
    """BNG easting/northing of the crimes in `months` that have a map point."""
    got = con.execute(f"SELECT longitude::DOUBLE AS lon, latitude::DOUBLE AS lat FROM {table} WHERE ({rows_where}) "
                      f"AND month IN {sql.in_list(months)} AND longitude IS NOT NULL AND latitude IS NOT NULL"
                      ).fetchnumpy()
    lon, lat = np.asarray(got["lon"], dtype=float), np.asarray(got["lat"], dtype=float)
    if not lon.size:
        return np.empty(0), np.empty(0)
    from ..geography.placement import to_bng

    return to_bng(lon, lat)


def _analyses(lsoa_args: tuple[Any, ...] | None, grid_args: tuple[Any, ...] | None,
              dispersion: float | None) -> tuple[UnitHotspots | None, UnitHotspots | None]:
    """:func:`lsoa_hotspots` and :func:`grid_hotspots` of the arguments given (None: not analysed)."""
    return (lsoa_hotspots(*lsoa_args, dispersion=dispersion) if lsoa_args else None,
            grid_hotspots(*grid_args, dispersion=dispersion) if grid_args else None)


def _lsoa_polygons(st: Store, codes: set[str]) -> Any:
    from ..geography.placing import stored_boundaries

    for e in st.geography_entries("boundaries"):
        if e.get("level") == "lsoa":
            g = stored_boundaries(st, e["name"])
            g = g[g["code"].isin(codes)]
            if len(g):
                return g
    return None


def hotspot_block(con: Any, st: Store, rows_where: str, total_pred: str, matched_cur: list[str],
                  matched_prev: list[str], *, snapped: bool, dispersion: float | None, area_name: str,
                  cur: Period, cmp: Period, table: str = "placed") -> Hotspots:
    """Hotspots of the area selected by `rows_where` (SQL over `table`: the `placed` view or a table of its rows
    such as the engine's `area_rows`) over the matched months."""
    if not matched_cur:
        return Hotspots(False, "no month is held in both periods, so hotspots are not compared")
    where = f"({rows_where}) AND ({total_pred})"
    lsoa_counts: dict[str, dict[str, int]] = {"cur": {}, "prev": {}}
    for which, months in (("cur", matched_cur), ("prev", matched_prev)):
        for code, n in con.execute(f"SELECT lsoa_code, count(*) FROM {table} WHERE {where} AND lsoa_code IS NOT NULL "
                                   f"AND month IN {sql.in_list(months)} GROUP BY 1").fetchall():
            lsoa_counts[which][code] = int(n)
    out = Hotspots(True, caveat=SNAPPED_CAVEAT if snapped else None)
    notes = []
    polys = _lsoa_polygons(st, set(lsoa_counts["cur"]) | set(lsoa_counts["prev"]))
    lsoa_args = grid_args = None
    if polys is not None and len(polys) >= 3:
        lsoa_args = (polys, lsoa_counts["cur"], lsoa_counts["prev"])
    else:
        notes.append("No LSOA boundaries are loaded for this area, so LSOA hotspots are not shown")
    xc, yc = _points(con, where, matched_cur, table)
    xp, yp = _points(con, where, matched_prev, table)
    keep = near_points(np.concatenate([xc, xp]), np.concatenate([yc, yp]))
    if not keep.all():
        far = int((~keep).sum())
        kc, kp = keep[:xc.size], keep[xc.size:]
        xc, yc, xp, yp = xc[kc], yc[kc], xp[kp], yp[kp]
        notes.append(f"{present.count(far)} {'crime' if far == 1 else 'crimes'} with a map point far from the "
                     "rest of the area's (a location recorded wrongly, most likely) left out of the grid")
    if xc.size < MIN_CRIMES:
        notes.append(f"fewer than {MIN_CRIMES} crimes with a map point, so no grid hotspots")
    else:
        grid_args = (xc, yc, xp, yp)
    # both analyses in one call: a CLI command's worker runs them, where libpysal and esda are imported
    [(out.lsoa, out.grid)] = fitworker.call_many(_analyses, [(lsoa_args, grid_args, dispersion)])
    if out.grid is not None:
        if polys is not None:  # name each hotspot cell by the LSOA holding its centre
            import geopandas as gpd

            pts = gpd.GeoDataFrame({"i": range(len(out.grid.rows))}, crs=27700,
                                   geometry=gpd.points_from_xy([r["x"] for r in out.grid.rows],
                                                               [r["y"] for r in out.grid.rows]))
            hit = gpd.sjoin(pts, polys[["name", "geometry"]], predicate="within", how="left")
            names = hit.drop_duplicates("i").set_index("i")["name"]
            for i, r in enumerate(out.grid.rows):
                r["lsoa_name"] = names.get(i) if isinstance(names.get(i), str) else None
    if out.lsoa is None and out.grid is None:
        return Hotspots(False, "; ".join(notes))
    out.note = "; ".join(notes) or None
    words, cmp_words = present.period_words(cur), present.period_words(cmp)
    if not cur.by_day and len(matched_cur) < cur.n_months:  # only the months held in both periods were compared
        words = (f"{months_in_words(matched_cur)}, the {'month' if len(matched_cur) == 1 else 'months'} of {words} "
                 "held in both periods")
        cmp_words = months_in_words(matched_prev)
    out.findings = sentences(out, area_name, words, cmp_words)
    return out


def sentences(h: Hotspots, area_name: str, period_words: str, compare_words: str) -> list[str]:
    """One sentence per kind of unit: hotspots now and how they changed; then the caveat."""
    out = []
    fdr = present.pct(h.alpha * 100, digits=0)
    for u, what in ((h.lsoa, "LSOAs"), (h.grid, "cells")):
        if u is None:
            continue
        c = u.counts()
        if not c["hotspots"] and not c["diminishing"]:
            grid = f"On a {h.cell_size} m grid, no" if u.unit == "grid" else "No"
            out.append(f"{grid} {what} of {area_name} were crime hotspots in {period_words} (Getis-Ord Gi*, false "
                       f"discovery rate {fdr}).")
            continue
        parts = [f"{present.count(c[k])} {k}" for k in CATEGORIES[:3] if c[k]]
        named = ""
        key = "name" if u.unit == "lsoa" else "lsoa_name"
        new = list(dict.fromkeys(r.get(key) for r in sorted(u.rows, key=lambda r: -r["z"])
                                 if r["category"] == "new" and r.get(key)))[:3]
        if new:
            named = f" (new: {present.join_and(new)})" if u.unit == "lsoa" else f" (new cells in {present.join_and(new)})"
        grid = f"On a {h.cell_size} m grid, " if u.unit == "grid" else ""
        text = (f"{grid}{present.plural(c['hotspots'], what[:-1], what)} of {area_name} "
                f"{'was a crime hotspot' if c['hotspots'] == 1 else 'were crime hotspots'} in {period_words} "
                f"(Getis-Ord Gi*, false discovery rate {fdr})")
        if parts:
            text += f": {present.join_and(parts)} since {compare_words}{named}"
        if c["diminishing"]:
            text += f"; {present.count(c['diminishing'])} diminishing"
        out.append(text + ".")
    if h.caveat:
        out.append(h.caveat[:1].upper() + h.caveat[1:])
    return out
