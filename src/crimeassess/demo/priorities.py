"""The demo city's priority stories (planted after the crimes are generated, from their own random stream so
nothing else in the city changes), its night-time-economy zone and the themes file that uses it.

- ``nte_sexual_offences_zone``: in the last financial year, sexual offences at licensed premises at night
  (20:00–06:00) rise to about 1.9 times the year before, the added ones on Friday–Sunday nights in the harbour's
  night-time-economy zone (``geography/nte-zone.geojson``, the LSOAs with the busiest night-time economy);
- ``domestic_abuse_charges``: in the last financial year a fifth of the domestic abuse crimes that would
  have ended in evidential difficulties are charged instead, so the charge share rises.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

from ..classify import offences as ho
from .crimes import Crimes, YearPlan
from .geography import CityGeography
from .offences import EXTRACT_OUTCOMES, LT, OFFENCES, OUTCOME_INDEX
from .points import PointPool

ZONE_FILE = "geography/nte-zone.geojson"
THEMES_FILE = "demo-themes.toml"
ZONE_NAME = "Harbour night-time economy zone"
ZONE_LSOAS = 6  # the LSOAs with the busiest night-time economy
NIGHT_HOURS = [20, 21, 22, 23, 0, 1, 2, 3, 4, 5]
NIGHT_WEIGHTS = [1, 2, 3.5, 5, 5, 4, 3, 2, 1, 0.5]
CHARGE = OUTCOME_INDEX["Charged/summonsed"]
EVIDENTIAL = [OUTCOME_INDEX[k] for k in OUTCOME_INDEX if k.startswith("Evidential difficulties")]
_SEXUAL = np.array([(ho.lookup(o.code).group if ho.lookup(o.code) else "") == "Sexual offences" for o in OFFENCES])


def zone_lsoas(geo: CityGeography) -> np.ndarray:
    """Indices of the zone's LSOAs: the centre ward's busiest night-time economy (never the story ward)."""
    centre = np.flatnonzero(geo.lsoa_ward == geo.centre_ward)
    return np.sort(centre[np.argsort(-geo.nte[centre], kind="stable")[:ZONE_LSOAS]])


def is_night(minute: np.ndarray) -> np.ndarray:
    return (minute >= 20 * 60) | ((minute >= 0) & (minute < 6 * 60))


def _nte(crimes: Crimes) -> np.ndarray:
    return _SEXUAL[crimes.code] & (crimes.lt == LT["Licensed premises"]) & is_night(crimes.minute)


def plant(geo: CityGeography, pool: PointPool, crimes: Crimes, plans: list[YearPlan], story_ward: int,
          seed: int) -> Crimes:
    """The crimes with both priority stories planted, in chronological order again."""
    rng = np.random.default_rng([seed, 15])
    cur, prev = len(plans) - 1, len(plans) - 2
    zone = zone_lsoas(geo)
    nte = _nte(crimes)
    target = int(round(1.9 * int((nte & (crimes.year == prev)).sum())))
    need = max(0, target - int((nte & (crimes.year == cur)).sum()))
    weekday = (crimes.day.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    cand = np.flatnonzero(_SEXUAL[crimes.code] & (crimes.year == cur) & ~crimes.domestic & ~nte
                          & (geo.lsoa_ward[crimes.lsoa] != story_ward) & np.isin(weekday, [4, 5, 6])
                          & ~crimes.no_location)
    pick = rng.choice(cand, size=min(need, cand.size), replace=False)
    lt, lsoa, minute, point = crimes.lt.copy(), crimes.lsoa.copy(), crimes.minute.copy(), crimes.point.copy()
    lt[pick] = LT["Licensed premises"]
    lsoa[pick] = rng.choice(zone, size=pick.size)
    w = np.array(NIGHT_WEIGHTS) / sum(NIGHT_WEIGHTS)
    hour = np.array(NIGHT_HOURS)[rng.choice(len(NIGHT_HOURS), size=pick.size, p=w)]
    minute[pick] = hour * 60 + rng.integers(0, 60, pick.size)
    point[pick] = pool.start[lsoa[pick]] + (rng.uniform(size=pick.size) * pool.count[lsoa[pick]]).astype(np.int64)
    outcome, puk = crimes.outcome.copy(), crimes.puk_outcome.copy()
    da = np.flatnonzero(crimes.domestic & (crimes.year == cur) & np.isin(outcome, EVIDENTIAL))
    charged = da[rng.uniform(size=da.size) < 0.2]
    outcome[charged] = CHARGE
    labels = [c for c, _ in EXTRACT_OUTCOMES[CHARGE][1]]
    p = np.array([x for _, x in EXTRACT_OUTCOMES[CHARGE][1]])
    puk[charged] = np.array(labels, dtype=object)[rng.choice(len(labels), size=charged.size, p=p / p.sum())]
    order = np.lexsort((minute, crimes.day))
    return Crimes(
        code=crimes.code[order], year=crimes.year[order], lsoa=lsoa[order], day=crimes.day[order],
        minute=minute[order], lt=lt[order], domestic=crimes.domestic[order], hate=crimes.hate[order],
        knife=crimes.knife[order], outcome=outcome[order], puk_outcome=puk[order], point=point[order],
        no_location=crimes.no_location[order])


def zone_geojson(geo: CityGeography) -> str:
    """The zone as one GeoJSON feature (EPSG:27700, vertices on the LSOA polygons' 0.1 m grid)."""
    geom = shapely.union_all([geo.lsoa_geoms[k] for k in zone_lsoas(geo)])
    geom = shapely.set_precision(geom, 0.1)
    feature = {"type": "Feature", "properties": {"name": ZONE_NAME},
               "geometry": json.loads(shapely.to_geojson(geom))}
    return json.dumps({"type": "FeatureCollection", "name": "nte-zone",
                       "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                       "features": [feature]}) + "\n"


THEMES_TOML = f"""# The demo city's own theme settings (pass with --themes): the built-in night-time-economy theme also
# selects crimes mapped inside the harbour's night-time-economy zone.
[themes.sexual_offences_night_time_economy]
zones = ["{ZONE_FILE}"]
"""


def stories(geo: CityGeography, crimes: Crimes, plans: list[YearPlan]) -> dict[str, dict[str, Any]]:
    """The two priority stories, counted from the crimes as the extract holds them."""
    cur, prev = len(plans) - 1, len(plans) - 2
    in_zone = np.isin(crimes.lsoa, zone_lsoas(geo))
    nte = _nte(crimes)
    # the theme as the demo's themes file defines it: at night, at licensed premises OR in the zone
    theme = _SEXUAL[crimes.code] & is_night(crimes.minute) & ((crimes.lt == LT["Licensed premises"]) | in_zone)

    def n(mask: np.ndarray, yi: int) -> int:
        return int((mask & (crimes.year == yi)).sum())
    nte_story = {
        "kind": "priority", "source": "extract", "theme": "sexual_offences_night_time_economy",
        "zone_file": ZONE_FILE, "zone_name": ZONE_NAME, "themes_file": THEMES_FILE,
        "licensed_premises_night": {"previous": n(nte, prev), "current": n(nte, cur)},
        "previous": n(theme, prev), "current": n(theme, cur),
        "in_zone_previous": n(theme & in_zone, prev), "in_zone_current": n(theme & in_zone, cur),
        "summary": f"Night-time sexual offences rose from {n(theme, prev)} to {n(theme, cur)}, "
                   f"{n(theme & in_zone, cur)} of them in the {ZONE_NAME.lower()}."}
    da = crimes.domestic
    charged = crimes.outcome == CHARGE
    dc, dp = n(da & charged, cur), n(da & charged, prev)
    tc, tp = n(da, cur), n(da, prev)
    da_story = {
        "kind": "outcome", "source": "extract", "theme": "domestic_abuse",
        "previous_charges": dp, "current_charges": dc, "previous": tp, "current": tc,
        "previous_share": round(100 * dp / tp, 1), "current_share": round(100 * dc / tc, 1),
        "summary": f"Domestic abuse charges rose from {dp} of {tp} crimes ({100 * dp / tp:.1f}%) to {dc} of {tc} "
                   f"({100 * dc / tc:.1f}%), although the last year's recent crimes are still under investigation."}
    return {"nte_sexual_offences_zone": nte_story, "domestic_abuse_charges": da_story}


# ------------------------------------------------------------------------------------------ outcomes files
OUTCOMES_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                   "LSOA code", "LSOA name", "Outcome type"]
#: police.uk's "Last outcome category" words that are not outcome types of the outcomes files.
_AS_OUTCOME = {"Awaiting court outcome": "Suspect charged"}
_NO_ROW = {"Under investigation", "Status update unavailable", ""}


def outcome_rows(geo: CityGeography, pool: PointPool, crimes: Crimes, plans: list[YearPlan], seed: int,
                 force_name: str) -> dict[str, list[tuple[str, ...]]]:
    """police.uk outcomes rows by month of the outcome: each crime's last outcome (as its street row says),
    given 0, 1, 2 … months after the crime (geometric, mean about 1.5 months), never after the last month
    held. Crime IDs are the street files' (the first draw of their random stream)."""
    n = crimes.code.size
    hexes = np.random.default_rng([seed, 5]).bytes(32 * n).hex()
    rng = np.random.default_rng([seed, 16])
    lag = rng.geometric(0.4, size=n) - 1
    month = crimes.day.astype("datetime64[M]")
    last = plans[-1].end.astype("datetime64[M]")
    when = np.minimum(month + lag.astype("timedelta64[M]"), last).astype(str)
    snap = pool.snap[crimes.point]
    out: dict[str, list[tuple[str, ...]]] = {}
    for i in range(n):
        text = crimes.puk_outcome[i]
        if text in _NO_ROW:
            continue
        if crimes.no_location[i]:
            lon = lat = lsoa = lsoa_name = ""
            loc = "No Location"
        else:
            p = snap[i]
            lon, lat = f"{pool.lon[p]:.6f}", f"{pool.lat[p]:.6f}"
            loc = pool.labels[pool.label[p]]
            lsoa, lsoa_name = geo.lsoa_codes[crimes.lsoa[i]], geo.lsoa_names[crimes.lsoa[i]]
        out.setdefault(when[i], []).append((hexes[i * 64:(i + 1) * 64], when[i], force_name, force_name, lon, lat,
                                            loc, lsoa, lsoa_name, _AS_OUTCOME.get(text, text)))
    return dict(sorted(out.items()))
