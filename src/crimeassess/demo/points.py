"""Address points and police.uk-style anonymised map points for every demo LSOA.

Each LSOA gets a pool of "address" points (one per household) strictly inside its polygon. A few of them
become police.uk map points, each labelled with a street ("On or near Mill Lane") or a point of interest
("On or near Supermarket"); every address snaps to its nearest map point in the same LSOA, as police.uk
snaps crimes to a fixed set of anonymised points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from .geography import CityGeography, random_points_in

STREET_STEMS = [
    "Albert", "Anchor", "Ash", "Bay", "Beacon", "Beech", "Bell", "Birch", "Blackthorn", "Bridge", "Brook",
    "Castle", "Cedar", "Chapel", "Charlotte", "Cherry", "Church", "Cliff", "Clifton", "Coastguard", "Copse",
    "Dock", "Dolphin", "Elm", "Esplanade", "Ferry", "Fisher", "Forge", "Fort", "Frederick", "Garden", "George",
    "Granary", "Grange", "Hawthorn", "Hazel", "High", "Holly", "Kiln", "King", "Lighthouse", "Lime", "London",
    "Lower", "Maple", "Mariners", "Market", "Meadow", "Mill", "Nelson", "Netherfield", "New", "North", "Oak",
    "Orchard", "Park", "Pier", "Pilot", "Pound", "Priory", "Queen", "Quarry", "Rectory", "Regent", "Rope",
    "Rosemary", "Salt", "Sandy", "School", "Seaview", "Ship", "Silver", "Smithy", "South", "Spring", "Station",
    "Tannery", "Tide", "Tower", "Union", "Victoria", "Wharf", "Willow", "Windmill", "York",
]
STREET_SUFFIXES = [
    "Road", "Street", "Lane", "Close", "Avenue", "Way", "Crescent", "Gardens", "Drive", "Terrace", "Place",
    "Walk", "Hill", "Court", "Grove", "Row",
]
# police.uk labels map points near points of interest like this.
POI_LABELS = [
    "Supermarket", "Parking Area", "Shopping Area", "Nightclub", "Sports/Recreation Area", "Petrol Station",
    "Park/Open Space", "Further/Higher Educational Building", "Bus/Coach Station", "Hospital", "Police Station",
    "Ferry Terminal", "Theatre/Concert Hall", "Pedestrian Subway",
]

_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BNG metres -> WGS84 longitude/latitude rounded to 6 decimals (as police.uk publishes them)."""
    lon, lat = _TO_WGS84.transform(x, y)
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude -> BNG metres."""
    x, y = _TO_BNG.transform(lon, lat)
    return np.asarray(x), np.asarray(y)


@dataclass
class PointPool:
    """Address points for all LSOAs, concatenated; LSOA k owns rows start[k] : start[k] + count[k]."""

    start: np.ndarray
    count: np.ndarray
    lsoa: np.ndarray  # LSOA index of every point
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray  # rounded to 6 dp; the BNG round trip of (lon, lat) is still inside the LSOA
    lat: np.ndarray
    snap: np.ndarray  # index (into this pool) of the map point each address snaps to
    label: np.ndarray  # int index into labels, meaningful for map points
    labels: list[str]  # "On or near ..." texts
    map_points: np.ndarray  # indices of the map points


def _street_names(rng: np.random.Generator) -> list[str]:
    names = [f"{s} {t}" for s in STREET_STEMS for t in STREET_SUFFIXES]
    return [names[i] for i in rng.permutation(len(names))]


def build_point_pool(geo: CityGeography, seed: int) -> PointPool:
    """Sample address points per LSOA (valid after the lon/lat round trip) and choose police.uk map points."""
    rng = np.random.default_rng([seed, 2])
    n = geo.n_lsoa
    want = np.maximum(geo.households, 50)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for k in range(n):
        poly = geo.lsoa_geoms[k]
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        have = 0
        while have < want[k]:
            pts = random_points_in(rng, poly, int((want[k] - have) * 1.05) + 8)
            lon, lat = to_lonlat(pts[:, 0], pts[:, 1])
            bx, by = to_bng(lon, lat)
            # keep points that stay in the LSOA after the 6-decimal round trip (not within ~0.1 m of an edge)
            ok = shapely.contains_xy(poly, bx, by)
            got_x.append(pts[ok, 0])
            got_y.append(pts[ok, 1])
            have += int(ok.sum())
        xs.append(np.concatenate(got_x)[: want[k]])
        ys.append(np.concatenate(got_y)[: want[k]])
    count = np.array([len(a) for a in xs])
    start = np.r_[0, np.cumsum(count)[:-1]]
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    lon, lat = to_lonlat(x, y)
    lsoa = np.repeat(np.arange(n), count)

    streets = _street_names(rng)
    labels: list[str] = [f"On or near {s}" for s in streets] + [f"On or near {p}" for p in POI_LABELS]
    poi = {p: len(streets) + i for i, p in enumerate(POI_LABELS)}
    label = np.full(x.size, -1)
    snap = np.empty(x.size, dtype=np.int64)
    map_pts: list[np.ndarray] = []
    street_ptr = 0
    centre_k = int(np.argmax(geo.nte))
    for k in range(n):
        s0, c = int(start[k]), int(count[k])
        n_streets = int(rng.integers(7, 15))
        per_street = rng.integers(1, 4, n_streets)
        n_poi_candidates = []
        if geo.retail[k] > 4 or rng.uniform() < 0.25:
            n_poi_candidates.append("Supermarket")
        if rng.uniform() < 0.45:
            n_poi_candidates.append("Parking Area")
        if geo.retail[k] > 6:
            n_poi_candidates.append("Shopping Area")
        if geo.nte[k] > 8:
            n_poi_candidates.append("Nightclub")
        if geo.park[k] > 1:
            n_poi_candidates.append(str(rng.choice(["Sports/Recreation Area", "Park/Open Space"])))
        if rng.uniform() < 0.12:
            n_poi_candidates.append("Petrol Station")
        if rng.uniform() < 0.08:
            n_poi_candidates.append("Further/Higher Educational Building")
        if k == centre_k:
            n_poi_candidates += ["Bus/Coach Station", "Police Station", "Ferry Terminal", "Theatre/Concert Hall"]
        m = min(int(per_street.sum()) + len(n_poi_candidates), c)
        chosen = s0 + rng.choice(c, size=m, replace=False)
        labs = np.empty(m, dtype=np.int64)
        pos = 0
        for sc in per_street:
            labs[pos: pos + sc] = street_ptr % len(streets)
            street_ptr += 1
            pos += sc
            if pos >= m:
                break
        for p in n_poi_candidates:
            if pos >= m:
                break
            labs[pos] = poi[p]
            pos += 1
        labs = labs[:m]
        label[chosen] = labs
        d2 = (x[s0: s0 + c, None] - x[chosen][None, :]) ** 2 + (y[s0: s0 + c, None] - y[chosen][None, :]) ** 2
        snap[s0: s0 + c] = chosen[np.argmin(d2, axis=1)]
        map_pts.append(chosen)
    return PointPool(
        start=start, count=count, lsoa=lsoa, x=x, y=y, lon=lon, lat=lat, snap=snap, label=label,
        labels=labels, map_points=np.sort(np.concatenate(map_pts)),
    )
