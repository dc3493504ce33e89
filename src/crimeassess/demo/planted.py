"""Three more planted stories for the demo city, made by moving or re-coding crimes of the last year so the
other stories' yearly counts hold exactly:

* ``anomalous_month``: ``ANOMALY_MOVED`` crimes of the last year (not violence, so the weekly pattern holds)
  are moved into its ``ANOMALY_MONTH_INDEX``-th month (October), far above what the years before predict;
* ``planted_hotspot``: ``HOTSPOT_MOVED`` crimes of the ward farthest from the centre (never the story ward)
  are moved from its other LSOAs onto two address points of its outermost LSOA: a new hotspot, the ward's
  total unchanged;
* ``harm_shift``: ``HARM_RECODED`` assaults without injury (105A) become assaults with intent to cause
  serious harm (5D): the same number of crimes, in the same police.uk category, but far graver;
  ``HARM_WEIGHTS`` (illustrative weights, not the published ONS values) lets the assessment weigh them.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .crimes import Crimes, GROUP_INDEX, CODE_GROUP
from .geography import CityGeography
from .offences import CODE_INDEX, LT, OFFENCES
from .points import PointPool

ANOMALY_MONTH_INDEX = 6  # October of the last financial year
ANOMALY_MOVED = 800
HOTSPOT_MOVED = 450
HARM_RECODED = 150
HARM_FROM, HARM_TO = "105A", "5D"

#: Illustrative harm weights by Home Office offence code, in the layout of docs/harm.md. They are shaped like
#: the ONS Crime Severity Score (days of custody equivalent) but are NOT the published values: the demo is
#: synthetic and ships no real reference data.
_GROUP_WEIGHT = {"homicide": 5000.0, "violence": 150.0, "sexual": 600.0, "robbery": 400.0, "burglary": 150.0,
                 "vehicle": 50.0, "theft": 20.0, "theft_person": 40.0, "shoplifting": 10.0, "damage": 30.0,
                 "drugs": 50.0, "weapons": 120.0, "public_order": 15.0, "harassment": 30.0, "misc": 60.0}
_CODE_WEIGHT = {"1": 7000.0, "4.4": 1500.0, "4.8": 800.0, "5D": 1300.0, "5E": 400.0, "8N": 150.0,
                "105A": 8.0, "105B": 15.0, "104": 10.0, "3B": 120.0, "36": 900.0}


def harm_weights() -> list[tuple[str, str, float]]:
    """(offence code, description, weight) for every demo offence code."""
    out = []
    for o in OFFENCES:
        w = _CODE_WEIGHT.get(o.code, _GROUP_WEIGHT.get(o.group, 50.0))
        out.append((o.code, o.description, w))
    return out


def _sorted(c: Crimes) -> Crimes:
    order = np.lexsort((c.minute, c.day))
    return Crimes(**{f.name: getattr(c, f.name)[order] for f in dataclasses.fields(Crimes)})


def plant(geo: CityGeography, pool: PointPool, crimes: Crimes, years: list[tuple[np.datetime64, np.datetime64]],
          story_ward: int, seed: int) -> tuple[Crimes, dict[str, Any]]:
    """Apply the three plantings to the last year's crimes; return the crimes (re-sorted by date) and facts."""
    rng = np.random.default_rng([seed, 11])
    c = Crimes(**{f.name: getattr(crimes, f.name).copy() for f in dataclasses.fields(Crimes)})
    last = len(years) - 1
    start, _end = years[last]
    in_last = c.year == last
    cats = np.array([o.category_id for o in OFFENCES])
    grp = CODE_GROUP[c.code]
    ward = geo.lsoa_ward[c.lsoa]
    protected = (np.isin(cats[c.code], ["robbery", "burglary"]) | c.knife | c.hate
                 | (c.lt == LT["Licensed premises"]))

    # 1. anomalous month: not violence (keeps the weekly pattern), not the month itself
    month0 = start.astype("datetime64[M]") + np.timedelta64(ANOMALY_MONTH_INDEX, "M")
    month_of = c.day.astype("datetime64[M]")
    donors = np.flatnonzero(in_last & (month_of != month0) & (grp != GROUP_INDEX["violence"]) & ~protected)
    moved = rng.choice(donors, size=ANOMALY_MOVED, replace=False)
    days = int(((month0 + np.timedelta64(1, "M")).astype("datetime64[D]") - month0.astype("datetime64[D]")).astype(int))
    c.day[moved] = month0.astype("datetime64[D]") + rng.integers(0, days, moved.size).astype("timedelta64[D]")

    # 2. hotspot: the suburban ward farthest from the centre (never the story ward), into its LSOA farthest out
    centre = geo.ward_geoms[geo.centre_ward].centroid
    dist = np.array([g.centroid.distance(centre) for g in geo.ward_geoms])
    dist[story_ward] = -1
    hw = int(np.argmax(dist))
    lsoas = np.flatnonzero(geo.lsoa_ward == hw)
    target = int(lsoas[np.argmax([geo.lsoa_geoms[k].centroid.distance(centre) for k in lsoas])])
    donors = np.flatnonzero(in_last & (ward == hw) & (c.lsoa != target) & ~protected)
    moved_h = rng.choice(donors, size=min(HOTSPOT_MOVED, donors.size), replace=False)
    c.lsoa[moved_h] = target
    c.point[moved_h] = pool.start[target] + rng.integers(0, min(2, int(pool.count[target])), moved_h.size)
    c.no_location[moved_h] = False

    # 3. harm shift: assaults without injury re-coded as assaults with intent to cause serious harm
    donors = np.flatnonzero(in_last & (c.code == CODE_INDEX[HARM_FROM]) & ~c.knife & ~c.hate)
    recoded = rng.choice(donors, size=HARM_RECODED, replace=False)
    c.code[recoded] = CODE_INDEX[HARM_TO]

    facts = {
        "anomalous_month": {"kind": "month", "source": "extract", "month": str(month0),
                            "moved": ANOMALY_MOVED,
                            "summary": f"{ANOMALY_MOVED} crimes of the year were moved into {month0}: far more than "
                                       "the years before predict for that month."},
        "planted_hotspot": {"kind": "hotspot", "source": "extract", "lsoa_code": geo.lsoa_codes[target],
                            "lsoa_name": geo.lsoa_names[target], "ward_code": geo.ward_codes[hw],
                            "ward_name": geo.ward_names[hw], "moved": int(moved_h.size),
                            "x": float(pool.x[pool.start[target]]), "y": float(pool.y[pool.start[target]]),
                            "summary": f"A new hotspot in {geo.lsoa_names[target]} ({geo.ward_names[hw]}): "
                                       f"{moved_h.size} crimes of the ward moved onto two of its address points."},
        "harm_shift": {"kind": "harm", "source": "extract", "from_code": HARM_FROM, "to_code": HARM_TO,
                       "recoded": HARM_RECODED,
                       "summary": f"{HARM_RECODED} assaults without injury ({HARM_FROM}) became assaults with intent "
                                  f"to cause serious harm ({HARM_TO}): counts unchanged, harm up."},
    }
    return _sorted(c), facts
