"""Fast synthetic police.uk street-level CSVs of any size, for tests and benchmarks.

Unlike generate_city this plants no stories: rows are independent draws (crime type, LSOA, map point,
outcome) built with numpy and joined into CRLF lines in chunks, so a million rows take a few seconds.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..schema import CRIME_TYPES, CURRENT_CRIME_TYPES
from .geography import CENTRE_E, CENTRE_N, LAD_NAME, LSOA_CODE_BASE
from .points import STREET_STEMS, STREET_SUFFIXES, to_lonlat

#: Rough police.uk mix (ASB share is set separately), crime type id -> weight.
_TYPE_WEIGHTS = {
    "violence-and-sexual-offences": 38, "shoplifting": 8, "other-theft": 8, "criminal-damage-arson": 8,
    "public-order": 7, "vehicle-crime": 5.5, "burglary": 4.5, "drugs": 2, "other-crime": 1.5,
    "theft-from-the-person": 1.4, "bicycle-theft": 1.4, "possession-of-weapons": 1, "robbery": 0.8,
}
_OUTCOMES = [
    ("Investigation complete; no suspect identified", 35), ("Unable to prosecute suspect", 30),
    ("Under investigation", 12), ("Status update unavailable", 5), ("Local resolution", 4),
    ("Awaiting court outcome", 4), ("Action to be taken by another organisation", 3),
    ("Formal action is not in the public interest", 3), ("Offender given a caution", 2),
    ("Court result unavailable", 2),
]
_POINTS_PER_LSOA = 40
_CHUNK = 200_000


def generate_street_csv(
    path: Path | str,
    n_rows: int,
    *,
    seed: int = 0,
    month: str = "2024-01",
    force_name: str = "Demoshire Constabulary",
    n_lsoas: int = 150,
    asb_share: float = 0.15,
    no_location_share: float = 0.005,
    crlf: bool = True,
) -> Path:
    """Write n_rows synthetic rows in police.uk street CSV format (header + rows) to path and return it.

    Rows use the demo city's fictional LSOA codes (E01099001 …) and map points near the demo city; ASB rows
    have an empty Crime ID, 'No Location' rows empty coordinates and LSOA. Deterministic for a seed.
    """
    if not isinstance(n_rows, (int, np.integer)) or n_rows < 0:
        raise InputError(f"n_rows must be a non-negative integer, not {n_rows!r}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise InputError(f"month {month!r} is not like '2024-01'")
    if not 1 <= n_lsoas <= 999 * 5:
        raise InputError(f"n_lsoas must be between 1 and 4995, not {n_lsoas}")
    if not (0 <= asb_share <= 1 and 0 <= no_location_share <= 1):
        raise InputError("asb_share and no_location_share must be between 0 and 1")
    if any(ch in force_name for ch in ',"\r\n'):
        raise InputError(f"force name {force_name!r} must not contain commas, quotes or line breaks")
    rng = np.random.default_rng([int(seed), 99])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eol = "\r\n" if crlf else "\n"

    codes = np.array([f"E0{LSOA_CODE_BASE + k}" for k in range(n_lsoas)], dtype=object)
    names = np.array([f"{LAD_NAME} {k // 5 + 1:03d}{chr(65 + k % 5)}" for k in range(n_lsoas)], dtype=object)
    # map points: clustered around a centre per LSOA, scattered over ~12 x 8 km
    cx = CENTRE_E + rng.uniform(-6000, 6000, n_lsoas)
    cy = CENTRE_N + rng.uniform(-2000, 6000, n_lsoas)
    px = (cx[:, None] + rng.normal(0, 250, (n_lsoas, _POINTS_PER_LSOA))).ravel()
    py = (cy[:, None] + rng.normal(0, 250, (n_lsoas, _POINTS_PER_LSOA))).ravel()
    lon, lat = to_lonlat(px, py)
    lon_s = np.array([f"{v:.6f}" for v in lon.tolist()], dtype=object)
    lat_s = np.array([f"{v:.6f}" for v in lat.tolist()], dtype=object)
    streets = [f"On or near {s} {t}" for s in STREET_STEMS for t in STREET_SUFFIXES]
    loc = np.array(streets, dtype=object)[rng.integers(0, len(streets), px.size)]

    types = [t for t in CURRENT_CRIME_TYPES if t != "anti-social-behaviour"]
    tw = np.array([_TYPE_WEIGHTS[t] for t in types], dtype=float)
    type_labels = np.array([CRIME_TYPES[t] for t in types], dtype=object)
    out_labels = np.array([o for o, _ in _OUTCOMES], dtype=object)
    ow = np.array([w for _, w in _OUTCOMES], dtype=float)
    prefix = f",{month},{force_name},{force_name},"
    asb_label = CRIME_TYPES["anti-social-behaviour"]

    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
            "Crime type,Last outcome category,Context" + eol
        )
        done = 0
        while done < n_rows:
            m = min(_CHUNK, n_rows - done)
            is_asb = rng.uniform(size=m) < asb_share
            noloc = rng.uniform(size=m) < no_location_share
            lsoa = rng.integers(0, n_lsoas, m)
            pt = lsoa * _POINTS_PER_LSOA + rng.integers(0, _POINTS_PER_LSOA, m)
            typ = np.where(is_asb, asb_label, type_labels[rng.choice(len(types), m, p=tw / tw.sum())])
            out = np.where(is_asb, "", out_labels[rng.choice(len(out_labels), m, p=ow / ow.sum())])
            hexes = rng.bytes(32 * m).hex()
            ids = [("" if a else hexes[i * 64:(i + 1) * 64]) for i, a in enumerate(is_asb.tolist())]
            geo_part = np.where(
                noloc, ",,No Location,,",
                lon_s[pt] + "," + lat_s[pt] + "," + loc[pt] + "," + codes[lsoa] + "," + names[lsoa],
            )
            body = eol.join(
                f"{i}{prefix}{g},{t},{o}," for i, g, t, o in zip(ids, geo_part.tolist(), typ.tolist(), out.tolist())
            )
            fh.write(body + eol)
            done += m
    return path
