"""Write the seeded synthetic demo city ("Demoport", policed by "Demoshire Constabulary") as input files
in the real formats crimeassess ingests, plus ``stories.json`` (what the report should find) and
``manifest.json`` (every file with its kind, row count and sha256).

Same seed ⇒ byte-identical files. See docs/demo-city.md.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, PeriodError
from ..schema import CRIME_TYPES
from .crimes import Asb, Crimes, YearPlan, generate_asb, generate_crimes, plan_years
from .geography import (
    CSP_CODE,
    CSP_NAME,
    LAD_CODE,
    LAD_NAME,
    PFA_CODE,
    PFA_NAME,
    REGION_CODE,
    REGION_NAME,
    CityGeography,
    build_geography,
)
from .offences import (
    EXTRACT_OUTCOMES,
    KNIFE_SELECTED_CODES,
    LOCATION_TYPES,
    OFFENCES,
    RESIDENTIAL_BURGLARY_CODES,
)
from .planted import harm_weights, plant
from .points import PointPool, build_point_pool, to_lonlat
from . import priorities

FORCE_NAME = "Demoshire Constabulary"
FORCE_FILE_SLUG = "demo"
WARD_VINTAGE = "WD23"
STREET_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
    "LSOA name", "Crime type", "Last outcome category", "Context",
]
EXTRACT_HEADER = [
    "crime_id", "recorded_date", "offence_code", "offence_description", "occurred_time", "location_type",
    "lsoa_code", "ward_code", "ward_name", "local_authority_code", "local_authority_name", "latitude",
    "longitude", "knife_flag", "hate_flag", "domestic_flag", "outcome",
]
CENSUS_HEADER = [
    "Region code", "Region name", "Local authority code", "Local authority name", "MSOA Code", "MSOA Name",
    "LSOA Code", "LSOA Name", "", "Persons", "Persons", "Persons", "Hectares", "Persons per hectare",
    "Households", "Persons per household",
]
LSOA_LOOKUP_HEADER = ["LSOA11CD", "LSOA11NM", "WD23CD", "WD23NM", "WD23NMW", "LAD23CD", "LAD23NM", "FID"]
LAD_LOOKUP_HEADER = ["LAD23CD", "LAD23NM", "CSP23CD", "CSP23NM", "PFA23CD", "PFA23NM", "FID"]
# Everything generate_city writes at the top of out_dir (removed first when overwrite=True).
_OWNED = ("geography", "population", "extract", "police-uk", "harm", "stories.json", "manifest.json", "README.md",
          priorities.THEMES_FILE)
_BNG_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
MISSING_MONTH_INDEX = 7  # November of the previous financial year


@dataclass
class DemoCity:
    """What generate_city wrote: paths (absolute), the area codes and the planted stories."""

    root: Path
    seed: int
    financial_years: list[str]  # oldest first, e.g. ['2020/21', ..., '2024/25']
    force_name: str
    lad_code: str
    lad_name: str
    csp_code: str
    pfa_code: str
    pfa_name: str
    wards: list[tuple[str, str]]  # (code, name), code order
    centre_ward: tuple[str, str]
    wards_geojson: Path
    lsoa_geojson: Path
    lsoa_ward_lookup: Path
    lad_csp_pfa_lookup: Path
    population_csv: Path
    extract_files: list[Path]
    street_files: list[Path]
    missing_street_months: list[str]
    stories_json: Path
    manifest_json: Path
    stories: dict[str, dict[str, Any]] = field(default_factory=dict)
    harm_weights_csv: Path | None = None  # illustrative harm weights by offence code (docs/harm.md layout)
    themes_file: Path | None = None  # demo-themes.toml: the NTE theme with the harbour zone
    nte_zone: Path | None = None  # geography/nte-zone.geojson

    @property
    def current_fy(self) -> str:
        return self.financial_years[-1]

    @property
    def previous_fy(self) -> str:
        return self.financial_years[-2]


# ----------------------------------------------------------------------------------------------- helpers
def parse_fy(label: str) -> int:
    """'2024/25' -> 2024 (the calendar year the financial year starts in)."""
    m = re.fullmatch(r"\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*", label or "")
    if not m:
        raise PeriodError(f"financial year {label!r} is not like '2024/25'")
    start, end = int(m.group(1)), int(m.group(2))
    if end % 100 != (start + 1) % 100 or (end >= 1000 and end != start + 1):
        raise PeriodError(f"financial year {label!r}: the second year must follow the first (e.g. '2024/25')")
    return start


class _Writer:
    """Writes files under root while recording each one's relative path, kind, rows and sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[dict[str, Any]] = []

    def write(self, rel: str, text: str, kind: str, rows: int | None = None) -> Path:
        data = text.encode("utf-8")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append({"path": rel, "kind": kind, "rows": rows, "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()})
        return path

    def csv(self, rel: str, header: list[str], rows: Any, kind: str, crlf: bool = False) -> Path:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        rows = list(rows)
        w.writerows(rows)
        return self.write(rel, buf.getvalue(), kind, len(rows))


def _ring_coords(ring: Any) -> list[list[float]]:
    return np.round(np.asarray(ring.coords), 1).tolist()


def _polygon_coords(poly: Any) -> list[list[list[float]]]:
    return [_ring_coords(poly.exterior)] + [_ring_coords(r) for r in poly.interiors]


def _feature_collection(name: str, features: list[dict[str, Any]]) -> str:
    lines = [json.dumps(f, ensure_ascii=False, separators=(", ", ": ")) for f in features]
    head = json.dumps({"type": "FeatureCollection", "name": name, "crs": _BNG_CRS})[:-1]
    return head + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def _pct(cur: int, prev: int) -> float | None:
    return None if prev == 0 else round(100.0 * (cur - prev) / prev, 1)


def _p_value(cur: int, prev: int) -> float:
    """Exact conditional binomial test of two Poisson counts (two-sided)."""
    from scipy.stats import binomtest  # only when generating: scipy is slow to load

    n = cur + prev
    return 1.0 if n == 0 else float(binomtest(cur, n, 0.5).pvalue)


def _change(cur: int, prev: int) -> dict[str, Any]:
    p = _p_value(cur, prev)
    return {"previous": prev, "current": cur, "change": cur - prev, "pct_change": _pct(cur, prev),
            "p_value": float(f"{p:.3g}"), "significant": p < 0.05}


# ---------------------------------------------------------------------------------------------- writers
def _write_geography(w: _Writer, geo: CityGeography) -> dict[str, Path]:
    lc = np.array([g.representative_point().coords[0] for g in geo.lsoa_geoms])
    llon, llat = to_lonlat(lc[:, 0], lc[:, 1])
    feats = []
    for k in range(geo.n_lsoa):
        props = {"FID": k + 1, "LSOA11CD": geo.lsoa_codes[k], "LSOA11NM": geo.lsoa_names[k],
                 "LSOA11NMW": geo.lsoa_names[k], "BNG_E": int(round(lc[k, 0])), "BNG_N": int(round(lc[k, 1])),
                 "LONG": float(llon[k]), "LAT": float(llat[k]), "LADCD_ACTIVE": LAD_CODE}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": _polygon_coords(geo.lsoa_geoms[k])}})
    lsoa_path = w.write("geography/lsoa.geojson", _feature_collection(LAD_CODE, feats), "boundaries-lsoa11",
                        geo.n_lsoa)
    wc = np.array([g.representative_point().coords[0] for g in geo.ward_geoms])
    wlon, wlat = to_lonlat(wc[:, 0], wc[:, 1])
    feats = []
    for i in range(geo.n_ward):
        props = {"FID": i + 1, "WD23CD": geo.ward_codes[i], "WD23NM": geo.ward_names[i], "WD23NMW": " ",
                 "LAD23CD": LAD_CODE, "LAD23NM": LAD_NAME, "BNG_E": int(round(wc[i, 0])),
                 "BNG_N": int(round(wc[i, 1])), "LONG": float(wlon[i]), "LAT": float(wlat[i])}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": _polygon_coords(geo.ward_geoms[i])}})
    ward_path = w.write("geography/wards.geojson", _feature_collection(LAD_CODE, feats), "boundaries-ward",
                        geo.n_ward)
    rows = [(geo.lsoa_codes[k], geo.lsoa_names[k], geo.ward_codes[geo.lsoa_ward[k]],
             geo.ward_names[geo.lsoa_ward[k]], "", LAD_CODE, LAD_NAME, k + 1) for k in range(geo.n_lsoa)]
    lu = w.csv("geography/LSOA11_WD23_LAD23_EW_LU.csv", LSOA_LOOKUP_HEADER, rows, "lookup-lsoa-ward-lad")
    lad = w.csv("geography/LAD23_CSP23_PFA23_EW_LU.csv", LAD_LOOKUP_HEADER,
                [(LAD_CODE, LAD_NAME, CSP_CODE, CSP_NAME, PFA_CODE, PFA_NAME, 1)], "lookup-lad-csp-pfa")

    hectares = np.array([g.area / 10_000 for g in geo.lsoa_geoms])
    rows = []
    for k in sorted(range(geo.n_lsoa), key=lambda k: (geo.lsoa_msoa[k], geo.lsoa_codes[k])):
        pop, com, hh = int(geo.population[k]), int(geo.communal[k]), int(geo.households[k])
        m = geo.lsoa_msoa[k]
        rows.append((REGION_CODE, REGION_NAME, LAD_CODE, f"{LAD_NAME} UA", geo.msoa_codes[m], geo.msoa_names[m],
                     geo.lsoa_codes[k], geo.lsoa_names[k], "", f"{pop:,}", f"{pop - com:,}", f"{com:,}",
                     f"{max(1, round(hectares[k])):,}", f"{pop / hectares[k]:.1f}", f"{hh:,}",
                     f"{(pop - com) / hh:.1f}"))
    pop = w.csv("population/census-2011-lsoa-population-households.csv", CENSUS_HEADER, rows,
                "population-census-2011")
    return {"lsoa": lsoa_path, "wards": ward_path, "lookup": lu, "lad": lad, "population": pop}


def _fmt(values: np.ndarray, spec: str) -> np.ndarray:
    return np.array([format(v, spec) for v in values.tolist()], dtype=object)


def _write_extracts(
    w: _Writer, geo: CityGeography, pool: PointPool, crimes: Crimes, plans: list[YearPlan]
) -> list[Path]:
    lat_s = _fmt(pool.lat, ".6f")
    lon_s = _fmt(pool.lon, ".6f")
    codes = np.array([o.code for o in OFFENCES], dtype=object)
    descs = np.array([o.description for o in OFFENCES], dtype=object)
    lts = np.array(LOCATION_TYPES, dtype=object)
    outs = np.array([o for o, _ in EXTRACT_OUTCOMES], dtype=object)
    lsoa_codes = np.array(geo.lsoa_codes, dtype=object)
    ward_codes = np.array(geo.ward_codes, dtype=object)[geo.lsoa_ward]
    ward_names = np.array(geo.ward_names, dtype=object)[geo.lsoa_ward]
    yn = np.array(["N", "Y"], dtype=object)
    paths = []
    for yi, plan in enumerate(plans):
        sel = np.flatnonzero(crimes.year == yi)
        yy = int(str(plan.start)[:4]) % 100
        ids = [f"DS{yy:02d}{i + 1:06d}" for i in range(sel.size)]
        m = crimes.minute[sel]
        times = ["" if v < 0 else f"{v // 60:02d}:{v % 60:02d}" for v in m.tolist()]
        lsoa = crimes.lsoa[sel]
        pt = crimes.point[sel]
        c = crimes.code[sel]
        rows = zip(
            ids, crimes.day[sel].astype(str).tolist(), codes[c], descs[c], times, lts[crimes.lt[sel]],
            lsoa_codes[lsoa], ward_codes[lsoa], ward_names[lsoa], [LAD_CODE] * sel.size, [LAD_NAME] * sel.size,
            lat_s[pt], lon_s[pt], yn[crimes.knife[sel].astype(int)], yn[crimes.hate[sel].astype(int)],
            yn[crimes.domestic[sel].astype(int)], outs[crimes.outcome[sel]],
        )
        name = plan.fy.replace("/", "-")
        paths.append(w.csv(f"extract/demo-force-extract-{name}.csv", EXTRACT_HEADER, rows, "extract"))
    return paths


def _write_street_files(
    w: _Writer, geo: CityGeography, pool: PointPool, crimes: Crimes, asb: Asb, seed: int, skip: set[str]
) -> list[Path]:
    rng = np.random.default_rng([seed, 5])
    lat_s = _fmt(pool.lat, ".6f")
    lon_s = _fmt(pool.lon, ".6f")
    labels = np.array(pool.labels + [""], dtype=object)
    lsoa_codes = np.array(geo.lsoa_codes + [""], dtype=object)
    lsoa_names = np.array(geo.lsoa_names + [""], dtype=object)
    # sort rank of each LSOA by name; 'No Location' rows go last
    name_rank = np.r_[np.argsort(np.argsort(geo.lsoa_names, kind="stable"), kind="stable"), geo.n_lsoa]
    ctype = np.array([CRIME_TYPES[o.category_id] for o in OFFENCES], dtype=object)
    crime_hex = rng.bytes(32 * crimes.code.size).hex()
    crime_ids = np.array([crime_hex[i * 64:(i + 1) * 64] for i in range(crimes.code.size)], dtype=object)

    c_month = crimes.day.astype("datetime64[M]")
    a_month = asb.day.astype("datetime64[M]")
    c_map = pool.snap[crimes.point]
    months = np.unique(np.r_[c_month, a_month])
    paths = []
    for mon in months:
        ym = str(mon)
        ci = np.flatnonzero(c_month == mon)
        ai = np.flatnonzero(a_month == mon)
        if ym in skip:
            continue
        c_noloc = crimes.no_location[ci]
        a_noloc = asb.no_location[ai]
        pts = np.r_[c_map[ci], asb.point[ai]]
        noloc = np.r_[c_noloc, a_noloc]
        lsoa = np.where(noloc, geo.n_lsoa, np.r_[crimes.lsoa[ci], asb.lsoa[ai]])
        is_crime = np.r_[np.ones(ci.size, bool), np.zeros(ai.size, bool)]
        # police.uk order: by LSOA name, crimes and ASB interleaved; No Location rows last, ASB first there
        order = np.lexsort((rng.uniform(size=lsoa.size), np.where(noloc, is_crime, 0), name_rank[lsoa]))
        cid = np.r_[crime_ids[ci], np.full(ai.size, "", dtype=object)]
        typ = np.r_[ctype[crimes.code[ci]], np.full(ai.size, CRIME_TYPES["anti-social-behaviour"], dtype=object)]
        out = np.r_[crimes.puk_outcome[ci], np.full(ai.size, "", dtype=object)]
        lon = np.where(noloc, "", lon_s[pts])
        lat = np.where(noloc, "", lat_s[pts])
        loc = np.where(noloc, "No Location", labels[pool.label[pts]])
        n = lsoa.size
        rows = zip(
            cid[order], [ym] * n, [FORCE_NAME] * n, [FORCE_NAME] * n, lon[order], lat[order], loc[order],
            lsoa_codes[lsoa[order]], lsoa_names[lsoa[order]], typ[order], out[order], [""] * n,
        )
        paths.append(w.csv(f"police-uk/{ym}/{ym}-{FORCE_FILE_SLUG}-street.csv", STREET_HEADER, rows,
                           "police-uk-street", crlf=True))
    return paths


# ------------------------------------------------------------------------------------------------ stories
def _stories(
    geo: CityGeography, crimes: Crimes, asb: Asb, plans: list[YearPlan], story_ward: int, missing: str
) -> dict[str, dict[str, Any]]:
    cur, prev = len(plans) - 1, len(plans) - 2
    codes = np.array([o.code for o in OFFENCES])
    cats = np.array([o.category_id for o in OFFENCES])
    month = crimes.day.astype("datetime64[M]").astype(str)
    on_puk = month != missing  # police.uk lacks the missing month

    def count(mask: np.ndarray, yi: int, puk: bool = False) -> int:
        m = mask & (crimes.year == yi)
        return int((m & on_puk).sum()) if puk else int(m.sum())

    everything = np.ones(crimes.code.size, bool)
    series = [{"fy": p.fy, "count": count(everything, i)} for i, p in enumerate(plans)]
    run = 0
    for a, b in zip(series[::-1][1:], series[::-1]):
        if b["count"] > a["count"]:
            run += 1
        else:
            break
    total = {"kind": "total", "source": "extract",
             "summary": ("Total recorded crime rose in the last financial year." if run == 1 else
                         f"Total recorded crime rose in each of the last {run} financial years."),
             "series": series, "run": {"direction": "rise", "length": run},
             **_change(series[cur]["count"], series[prev]["count"])}

    in_ward = geo.lsoa_ward[crimes.lsoa] == story_ward
    wc = _change(count(in_ward, cur), count(in_ward, prev))
    ward = {"kind": "ward", "source": "extract", "ward_code": geo.ward_codes[story_ward],
            "ward_name": geo.ward_names[story_ward],
            "summary": f"{geo.ward_names[story_ward]} ward: crime up {wc['pct_change']}% "
                       f"({wc['previous']} → {wc['current']}), a significant rise.",
            **wc,
            "police_uk": {"previous": count(in_ward, prev, True), "current": count(in_ward, cur, True)}}

    rob = cats == "robbery"
    is_rob = rob[crimes.code]
    rc = _change(count(is_rob, cur), count(is_rob, prev))
    robbery = {"kind": "category", "source": "extract", "category_id": "robbery",
               "summary": f"Robbery changed by {rc['change']:+d} ({rc['previous']} → {rc['current']}): "
                          "not a significant change.", **rc,
               "police_uk": {"previous": count(is_rob, prev, True), "current": count(is_rob, cur, True)}}

    knife_codes = np.isin(codes, KNIFE_SELECTED_CODES)[crimes.code]
    is_knife = knife_codes & crimes.knife
    kc = _change(count(is_knife, cur), count(is_knife, prev))
    knife = {"kind": "theme", "source": "extract", "theme": "knife_crime",
             "definition": "ONS selected offences (homicide, attempted murder, threats to kill, assault with "
                           "injury / intent to cause serious harm, robbery, rape, sexual assault) with the knife "
                           "or sharp instrument flag",
             "offence_codes": list(KNIFE_SELECTED_CODES),
             "summary": f"Knife crime up {kc['pct_change']}% ({kc['previous']} → {kc['current']}).", **kc}

    is_res = np.isin(codes, RESIDENTIAL_BURGLARY_CODES)[crimes.code]
    bc = _change(count(is_res, cur), count(is_res, prev))
    burglary = {"kind": "theme", "source": "extract", "theme": "residential_burglary",
                "offence_codes": list(RESIDENTIAL_BURGLARY_CODES),
                "summary": f"Residential burglary down {-bc['pct_change']}% ({bc['previous']} → {bc['current']}).",
                **bc}

    missing_story = {"kind": "coverage", "source": "police-uk-street", "month": missing,
                     "financial_year": plans[prev].fy,
                     "file": f"police-uk/{missing}/{missing}-{FORCE_FILE_SLUG}-street.csv",
                     "summary": f"The police.uk street file for {missing} is missing, so {plans[prev].fy} "
                                "has 11 of 12 months from police.uk (the extract is complete)."}

    asb_year = np.searchsorted(np.array([p.start for p in plans]), asb.day, side="right") - 1
    yr = crimes.year == cur
    n_cur = int(yr.sum())
    facts = {"kind": "facts", "source": "extract",
             "summary": "Shares of flags and volumes in the current year (not a story; for checking).",
             "crimes_current": n_cur,
             "domestic_share": round(float(crimes.domestic[yr].mean()), 4),
             "hate_share": round(float(crimes.hate[yr].mean()), 4),
             "asb_current": int((asb_year == cur).sum()),
             "no_location_crimes": int(crimes.no_location.sum()),
             "centre_ward": geo.ward_names[geo.centre_ward]}
    return {"total_rise": total, "ward_rise": ward, "robbery_flat": robbery, "knife_rise": knife,
            "residential_burglary_fall": burglary, "missing_month": missing_story, "facts": facts}


def _choose_story_ward(geo: CityGeography) -> int:
    """A quiet suburban ward (third-lowest expected crime, never the centre) gets the planted rise."""
    w = geo.population * geo.deprivation ** 0.8 * np.sqrt(geo.nte)
    per_ward = np.bincount(geo.lsoa_ward, weights=w, minlength=geo.n_ward)
    per_ward[geo.centre_ward] = np.inf
    return int(np.argsort(per_ward, kind="stable")[2])


# --------------------------------------------------------------------------------------------- public API
def generate_city(
    out_dir: Path | str, *, seed: int = 2018, years: int = 5, last_fy: str = "2024/25", overwrite: bool = False
) -> DemoCity:
    """Write the demo city's input files (geography, population, force extracts, police.uk street files),
    ``stories.json`` and ``manifest.json`` under out_dir, deterministically for a seed.

    years: number of financial years ending with last_fy (2–10). Raises InputError when out_dir is not
    empty (unless overwrite=True, which replaces only what this function writes) and PeriodError for a bad
    last_fy.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"demo seed must be a non-negative integer, not {seed!r}")
    if not isinstance(years, (int, np.integer)) or not 2 <= years <= 10:
        raise InputError(f"demo years must be between 2 and 10, not {years!r}")
    last = parse_fy(last_fy)
    root = Path(out_dir).resolve()
    if root.exists() and not root.is_dir():
        raise InputError(f"demo output {root} exists and is not a folder")
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise InputError(f"demo output folder {root} is not empty (use overwrite to replace it)")
        for name in _OWNED:
            p = root / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    root.mkdir(parents=True, exist_ok=True)

    seed = int(seed)
    first = last - years + 1
    geo = build_geography(seed)
    pool = build_point_pool(geo, seed)
    plans = plan_years(np.random.default_rng([seed, 6]), first, years)
    story_ward = _choose_story_ward(geo)
    ward_factor = float(np.random.default_rng([seed, 7]).uniform(1.22, 1.28))
    crimes = generate_crimes(geo, pool, plans, story_ward, ward_factor, seed)
    crimes, planted = plant(geo, pool, crimes, [(p.start, p.end) for p in plans], story_ward, seed)
    crimes = priorities.plant(geo, pool, crimes, plans, story_ward, seed)
    asb = generate_asb(geo, pool, plans, seed)
    prev_start = plans[-2].start.astype("datetime64[M]")
    missing = str(prev_start + np.timedelta64(MISSING_MONTH_INDEX, "M"))

    w = _Writer(root)
    g = _write_geography(w, geo)
    extracts = _write_extracts(w, geo, pool, crimes, plans)
    streets = _write_street_files(w, geo, pool, crimes, asb, seed, {missing})
    for ym, rows in priorities.outcome_rows(geo, pool, crimes, plans, seed, FORCE_NAME).items():
        w.csv(f"police-uk/{ym}/{ym}-{FORCE_FILE_SLUG}-outcomes.csv", priorities.OUTCOMES_HEADER, rows,
              "police-uk-outcomes", crlf=True)
    stories = _stories(geo, crimes, asb, plans, story_ward, missing)
    stories.update(planted)
    harm_csv = w.csv("harm/demo-harm-weights.csv", ["offence_code", "offence_description", "weight"],
                     [(c, d, f"{v:g}") for c, d, v in harm_weights()], "harm-weights")
    stories.update(priorities.stories(geo, crimes, plans))
    zone_path = w.write(priorities.ZONE_FILE, priorities.zone_geojson(geo), "zone-nte", 1)
    themes_path = w.write(priorities.THEMES_FILE, priorities.THEMES_TOML, "themes")
    stories_doc = {"city": LAD_NAME, "force_name": FORCE_NAME, "seed": seed,
                   "financial_years": [p.fy for p in plans], "current_fy": plans[-1].fy,
                   "previous_fy": plans[-2].fy, "stories": stories}
    stories_path = w.write("stories.json", json.dumps(stories_doc, indent=2, ensure_ascii=False) + "\n", "stories")
    readme = (
        f"# {LAD_NAME}: a synthetic demo city\n\nEvery file here was generated by `crimeassess.demo` from seed "
        f"{seed}. The place, the force ({FORCE_NAME}), the codes (E06009901, E05099901…, E01099001…) and "
        "every crime are fictional; the files only copy the layouts of real published data.\n"
        "`stories.json` lists what the assessment should find; `manifest.json` lists every file.\n"
    )
    w.write("README.md", readme, "readme")
    manifest = {"name": f"{LAD_NAME} synthetic demo city", "generator": "crimeassess.demo", "format_version": 1,
                "seed": seed, "force_name": FORCE_NAME, "lad": {"code": LAD_CODE, "name": LAD_NAME},
                "csp": {"code": CSP_CODE, "name": CSP_NAME}, "pfa": {"code": PFA_CODE, "name": PFA_NAME},
                "ward_vintage": WARD_VINTAGE, "crs": "EPSG:27700",
                "financial_years": [p.fy for p in plans], "missing_street_months": [missing],
                "files": w.files}
    manifest_path = root / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return DemoCity(
        root=root, seed=seed, financial_years=[p.fy for p in plans], force_name=FORCE_NAME, lad_code=LAD_CODE,
        lad_name=LAD_NAME, csp_code=CSP_CODE, pfa_code=PFA_CODE, pfa_name=PFA_NAME,
        wards=list(zip(geo.ward_codes, geo.ward_names)),
        centre_ward=(geo.ward_codes[geo.centre_ward], geo.ward_names[geo.centre_ward]),
        wards_geojson=g["wards"], lsoa_geojson=g["lsoa"], lsoa_ward_lookup=g["lookup"],
        lad_csp_pfa_lookup=g["lad"], population_csv=g["population"], extract_files=extracts,
        street_files=streets, missing_street_months=[missing], stories_json=stories_path,
        manifest_json=manifest_path, stories=stories, harm_weights_csv=harm_csv, themes_file=themes_path,
        nte_zone=zone_path,
    )
