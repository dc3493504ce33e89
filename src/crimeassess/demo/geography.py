"""The demo city's geography: a seeded coastal outline cut by an estuary, LSOAs grown from small Voronoi
"blocks" (so boundaries look hand-drawn rather than straight), and wards made of whole LSOAs.

Everything lives in British National Grid (EPSG:27700) metres, snapped to a 0.1 m grid. The codes are
GSS-shaped but fictional (``E0109xxxx``, ``E0509990x`` ...) so they can never collide with real areas.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.cluster.vq import kmeans2
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import MultiPoint, Polygon

from ..errors import GeographyError

GRID = 0.1  # metres; every output vertex is a multiple of this

LAD_CODE = "E06009901"
LAD_NAME = "Demoport"
CSP_CODE = "E22009901"
CSP_NAME = "Demoport"
PFA_CODE = "E23009901"
PFA_NAME = "Demoshire"
REGION_CODE = "E12000008"  # real South East region code: the census layout carries a region column
REGION_NAME = "SOUTH EAST"
WARD_CODE_BASE = 5099901  # E05099901 ...
LSOA_CODE_BASE = 1099001  # E01099001 ...
MSOA_CODE_BASE = 2099001  # E02099001 ...

CENTRE_WARD_NAME = "Harbourside"
OLD_TOWN_NAME = "Old Town"
COASTAL_NAMES = [
    "Quayhead", "Westcliff", "Saltings", "Ferrybridge", "St Brannock's", "Sandhills", "Marram Point",
    "Eastshore", "Shingle Bank",
]
INLAND_NAMES = [
    "Kingsmead", "Hollowell", "Northgate", "Coldharbour", "Ashcombe", "Lydden Vale", "Wyke Green",
    "Fairlea", "Merrow Park", "Thornleigh", "Brackenhurst", "Elmstead", "Haverley", "Copperfield",
]

# Where the fictional city sits on the British National Grid (a southern English coast).
CENTRE_E = 446000.0
CENTRE_N = 104000.0


@dataclass
class CityGeography:
    """All geographic facts the generator needs; arrays are indexed by LSOA (or ward) position."""

    outline: Polygon
    centre: tuple[float, float]
    lsoa_codes: list[str]
    lsoa_names: list[str]
    lsoa_geoms: np.ndarray  # shapely Polygons
    lsoa_ward: np.ndarray  # int index into ward arrays
    lsoa_msoa: np.ndarray  # int index into msoa arrays
    msoa_codes: list[str]
    msoa_names: list[str]
    ward_codes: list[str]
    ward_names: list[str]
    ward_geoms: np.ndarray
    centre_ward: int
    population: np.ndarray  # usual residents
    communal: np.ndarray  # residents in communal establishments
    households: np.ndarray
    deprivation: np.ndarray  # relative deprivation, mean ~1
    nte: np.ndarray  # night-time economy intensity (>=1)
    retail: np.ndarray  # retail intensity (>=1)
    park: np.ndarray  # open-space weight (>=1)
    coastal_wards: list[int] = field(default_factory=list)

    @property
    def n_lsoa(self) -> int:
        return len(self.lsoa_codes)

    @property
    def n_ward(self) -> int:
        return len(self.ward_codes)


def _smooth_noise(rng: np.random.Generator, n: int, terms: int, amp: float) -> np.ndarray:
    """Periodic smooth noise on n samples of [0, 2π): a sum of random harmonics with 1/k amplitudes."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    out = np.zeros(n)
    for k in range(2, 2 + terms):
        out += amp / k * rng.normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    return out


def _outline(rng: np.random.Generator) -> tuple[Polygon, Polygon, Polygon, tuple[float, float]]:
    """City outline (land only), the sea, the estuary and a harbour point near the estuary mouth."""
    cx, cy = CENTRE_E, CENTRE_N
    n = 720
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1.0 + _smooth_noise(rng, n, 9, 0.22) + 0.012 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    r = r - np.linspace(0, 1, n) * (r[-1] - r[0])  # close the random walk smoothly
    a, b = 6000.0, 4700.0
    ring = np.c_[cx + a * r * np.cos(theta), cy + 0.3 * b + b * r * np.sin(theta)]
    body = shapely.make_valid(Polygon(ring)).buffer(0)

    # Wavy coastline running west-east south of the centre; everything below it is sea.
    xs = np.linspace(cx - 12000, cx + 12000, 400)
    ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
    yc = cy - 600 + 450 * np.sin(xs / 1700 + ph1) + 160 * np.sin(xs / 420 + ph2)
    yc += np.convolve(rng.normal(0, 35, xs.size), np.ones(5) / 5, mode="same")
    sea = Polygon(np.r_[np.c_[xs, yc], [[xs[-1], cy - 15000], [xs[0], cy - 15000]]])

    # Estuary: a meandering inlet from the sea that narrows and stops well inside the city.
    ex = cx - 900 + rng.uniform(-400, 400)
    t = np.linspace(0, 1, 60)
    ys = (cy - 3500) + t * 6600
    wig = 350 * np.sin(t * 5.0 + rng.uniform(0, 2 * np.pi)) * t
    centre_line = np.c_[ex + wig, ys]
    d = np.gradient(centre_line, axis=0)
    normal = np.c_[-d[:, 1], d[:, 0]] / np.hypot(d[:, 0], d[:, 1])[:, None]
    width = 520 * (1 - t) ** 1.3 + 45
    estuary = shapely.make_valid(
        Polygon(np.r_[centre_line + normal * width[:, None], (centre_line - normal * width[:, None])[::-1]])
    )
    land = body.difference(sea).difference(estuary)
    if land.geom_type == "MultiPolygon":
        land = max(land.geoms, key=lambda g: g.area)
    land = shapely.set_precision(land.simplify(2.0), GRID)

    # Harbour (city centre): on the east bank near the mouth of the estuary.
    mouth_i = int(np.argmin(np.abs(ys - np.interp(ex, xs, yc))))
    hx = centre_line[mouth_i, 0] + width[mouth_i] + 700
    hy = centre_line[mouth_i, 1] + 700
    return land, sea, estuary, (float(hx), float(hy))


def _density_points(
    rng: np.random.Generator, poly: Polygon, n: int, centre: tuple[float, float], scale: float, boost: float
) -> np.ndarray:
    """n points inside poly, denser near centre (density ∝ 1 + boost·exp(-d/scale)); vectorised rejection."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        m = max(4 * (n - got), 1000)
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        dens = (1 + boost * np.exp(-np.hypot(x - centre[0], y - centre[1]) / scale)) / (1 + boost)
        keep = shapely.contains_xy(poly, x, y) & (rng.uniform(size=m) < dens)
        pts = np.c_[x[keep], y[keep]]
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n]


def _adjacency(geoms: np.ndarray, min_shared: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i<j) of polygons sharing a boundary of at least min_shared metres, with that length."""
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))
    ok = shared >= min_shared
    return i[ok], j[ok], shared[ok]


def _repair_contiguity(
    labels: np.ndarray, ai: np.ndarray, aj: np.ndarray, alen: np.ndarray, n_labels: int
) -> np.ndarray:
    """Reassign detached pieces of each label (by block adjacency) to the neighbour sharing most border."""
    labels = labels.copy()
    nb = labels.size
    for _ in range(50):
        same = labels[ai] == labels[aj]
        g = coo_matrix((np.ones(same.sum()), (ai[same], aj[same])), shape=(nb, nb))
        ncomp, comp = connected_components(g, directed=False)
        # the main component of each label is the largest; everything else must move
        comp_size = np.bincount(comp, minlength=ncomp)
        main = np.full(n_labels, -1)
        best = np.full(n_labels, -1)
        for c in np.argsort(-comp_size, kind="stable"):
            lab = labels[np.flatnonzero(comp == c)[0]]
            if main[lab] == -1:
                main[lab] = c
                best[lab] = comp_size[c]
        stray = main[labels] != comp
        if not stray.any():
            return labels
        # move each stray component wholesale to the label it shares most border with
        for c in np.unique(comp[stray]):
            members = comp == c
            touch = (members[ai] & ~members[aj]) | (members[aj] & ~members[ai])
            other = np.where(members[ai[touch]], labels[aj[touch]], labels[ai[touch]])
            if other.size == 0:
                continue
            w = np.bincount(other, weights=alen[touch], minlength=n_labels)
            labels[members] = int(np.argmax(w))
    raise GeographyError("demo geography: could not make every area contiguous (try another seed)")


def _grow_wards(
    centroids: np.ndarray, ai: np.ndarray, aj: np.ndarray, n_wards: int, start: int
) -> np.ndarray:
    """Partition LSOAs into n_wards contiguous, similar-sized groups by balanced region growing."""
    n = len(centroids)
    neigh: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(ai.tolist(), aj.tolist()):
        neigh[a].append(b)
        neigh[b].append(a)
    # farthest-point seeds, starting from the city-centre LSOA
    seeds = [start]
    dmin = np.hypot(*(centroids - centroids[start]).T)
    for _ in range(n_wards - 1):
        s = int(np.argmax(dmin))
        seeds.append(s)
        dmin = np.minimum(dmin, np.hypot(*(centroids - centroids[s]).T))
    ward = np.full(n, -1)
    for w, s in enumerate(seeds):
        ward[s] = w
    size = np.ones(n_wards, dtype=int)
    while (ward < 0).any():
        grew = False
        for w in np.argsort(size, kind="stable"):
            members = np.flatnonzero(ward == w)
            cand = sorted({c for m in members for c in neigh[m] if ward[c] < 0})
            if not cand:
                continue
            seed_xy = centroids[seeds[w]]
            dist = [np.hypot(*(centroids[c] - seed_xy)) for c in cand]
            ward[cand[int(np.argmin(dist))]] = w
            size[w] += 1
            grew = True
            break
        if not grew:
            raise GeographyError("demo geography: LSOAs are not all connected")
    return ward


def _letters(i: int) -> str:
    return chr(ord("A") + i)


def build_geography(seed: int, *, n_lsoa: int = 150, n_wards: int = 16, n_blocks: int = 2600) -> CityGeography:
    """Build the demo city's outline, LSOAs, wards, names, codes and per-LSOA attributes from a seed."""
    rng = np.random.default_rng([seed, 1])
    land, sea, estuary, harbour = _outline(rng)

    # Small "blocks": Voronoi cells of points that are denser near the centre, clipped to the land.
    pts = _density_points(rng, land, n_blocks, harbour, 1800.0, 5.0)
    big = shapely.box(*np.add(land.bounds, (-5000, -5000, 5000, 5000)))
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=big, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    cells = shapely.set_precision(cells, GRID)
    blocks = shapely.intersection(cells, land, grid_size=GRID)
    # A cell cut by the estuary can fall apart; keep only polygonal parts, one row per part.
    blocks = shapely.get_parts(blocks)
    blocks = blocks[(shapely.get_type_id(blocks) == 3) & (shapely.area(blocks) > 1.0)]
    bxy = shapely.get_coordinates(shapely.point_on_surface(blocks))

    # LSOAs: k-means of block sites (equal block counts ≈ equal population), then jittered assignment.
    sites = bxy.copy()
    cent, _ = kmeans2(sites, n_lsoa, iter=25, minit="++", seed=rng)
    spacing = np.sqrt(land.area / len(blocks))
    jitter = bxy + rng.normal(0, 0.45 * spacing, bxy.shape)
    labels = np.argmin(((jitter[:, None, :] - cent[None, :, :]) ** 2).sum(-1), axis=1)
    used = np.unique(labels)
    labels = np.searchsorted(used, labels)
    nl = len(used)
    ai, aj, alen = _adjacency(blocks)
    labels = _repair_contiguity(labels, ai, aj, alen, nl)
    used = np.unique(labels)
    labels = np.searchsorted(used, labels)
    nl = len(used)
    lsoa_geoms = np.array(
        [shapely.set_precision(shapely.union_all(blocks[labels == k], grid_size=GRID), GRID) for k in range(nl)],
        dtype=object,
    )
    for k, g in enumerate(lsoa_geoms):
        if g.geom_type != "Polygon":
            raise GeographyError(f"demo geography: LSOA {k} is a {g.geom_type}, not a polygon (try another seed)")
    lc = shapely.get_coordinates(shapely.point_on_surface(lsoa_geoms))

    # Wards from whole LSOAs.
    li, lj, _ = _adjacency(lsoa_geoms)
    start = int(np.argmin(np.hypot(*(lc - np.array(harbour)).T)))
    ward_of = _grow_wards(lc, li, lj, n_wards, start)
    ward_geoms = np.array(
        [
            shapely.set_precision(shapely.union_all(lsoa_geoms[ward_of == w], grid_size=GRID), GRID)
            for w in range(n_wards)
        ],
        dtype=object,
    )
    centre_ward = int(ward_of[start])

    # Names: centre = Harbourside, nearest other = Old Town, coastal/inland names by position.
    water = shapely.union_all([sea, estuary]).buffer(1.0)
    coastal = [w for w in range(n_wards) if shapely.length(shapely.intersection(ward_geoms[w].boundary, water)) > 150]
    wc = shapely.get_coordinates(shapely.point_on_surface(ward_geoms))
    dist_c = np.hypot(*(wc - wc[centre_ward]).T)
    dist_c[centre_ward] = np.inf
    old_town = int(np.argmin(dist_c))
    coastal_pool = list(rng.permutation(COASTAL_NAMES))
    inland_pool = list(rng.permutation(INLAND_NAMES))
    names: list[str] = [""] * n_wards
    names[centre_ward] = CENTRE_WARD_NAME
    names[old_town] = OLD_TOWN_NAME
    for w in range(n_wards):
        if names[w]:
            continue
        pool = coastal_pool if (w in coastal and coastal_pool) else (inland_pool or coastal_pool)
        names[w] = str(pool.pop(0))
    # ONS-style: ward codes follow alphabetical name order
    order = sorted(range(n_wards), key=lambda w: names[w])
    remap = np.empty(n_wards, dtype=int)
    remap[order] = np.arange(n_wards)
    ward_geoms = ward_geoms[order]
    ward_names = [names[w] for w in order]
    ward_codes = [f"E0{WARD_CODE_BASE + i}" for i in range(n_wards)]
    ward_of = remap[ward_of]
    centre_ward = int(remap[centre_ward])
    coastal = sorted(int(remap[w]) for w in coastal)

    # MSOAs: ~5 LSOAs each, within wards, numbered north to south as ONS does.
    msoa_members: list[list[int]] = []
    for w in range(n_wards):
        mem = np.flatnonzero(ward_of == w)
        m = max(1, int(round(len(mem) / 5)))
        ctr = lc[mem].mean(axis=0)
        ang = np.arctan2(lc[mem, 1] - ctr[1], lc[mem, 0] - ctr[0])
        mem = mem[np.argsort(ang, kind="stable")]
        msoa_members.extend(chunk.tolist() for chunk in np.array_split(mem, m))
    msoa_n = np.array([lc[mm, 1].mean() for mm in msoa_members])
    msoa_order = np.argsort(-msoa_n, kind="stable")
    lsoa_msoa = np.empty(nl, dtype=int)
    lsoa_names = [""] * nl
    for rank, mi in enumerate(msoa_order):
        mem = sorted(msoa_members[mi], key=lambda k: (-lc[k, 1], lc[k, 0]))
        for li_, k in enumerate(mem):
            lsoa_msoa[k] = rank
            lsoa_names[k] = f"{LAD_NAME} {rank + 1:03d}{_letters(li_)}"
    msoa_codes = [f"E0{MSOA_CODE_BASE + i}" for i in range(len(msoa_members))]
    msoa_names = [f"{LAD_NAME} {i + 1:03d}" for i in range(len(msoa_members))]
    # LSOA codes in name order; reorder every per-LSOA array to that order.
    lorder = sorted(range(nl), key=lambda k: lsoa_names[k])
    lsoa_geoms = lsoa_geoms[lorder]
    lsoa_names = [lsoa_names[k] for k in lorder]
    lsoa_codes = [f"E0{LSOA_CODE_BASE + i}" for i in range(nl)]
    ward_of = ward_of[lorder]
    lsoa_msoa = lsoa_msoa[lorder]
    lc = lc[lorder]

    # Per-LSOA attributes.
    d_centre = np.hypot(*(lc - np.array(harbour)).T)
    population = np.clip(np.round(rng.normal(1650, 170, nl)), 1380, 2050).astype(int)
    communal = np.where(rng.uniform(size=nl) < 0.18, rng.integers(5, 160, nl), 0)
    near = d_centre < 1500
    communal[near] += rng.integers(0, 450, near.sum())  # student halls and care homes near the centre
    communal = np.minimum(communal, population // 3)
    households = np.round((population - communal) / rng.normal(2.3, 0.15, nl)).astype(int)

    dep = np.full(nl, 0.55)
    bumps = [(harbour, 1.1, 1500.0)]
    for _ in range(4):
        k = int(rng.integers(nl))
        bumps.append(((lc[k, 0], lc[k, 1]), rng.uniform(0.6, 1.3), rng.uniform(800, 1800)))
    for (bx, by), h, s in bumps:
        dep += h * np.exp(-((lc[:, 0] - bx) ** 2 + (lc[:, 1] - by) ** 2) / (2 * s * s))
    dep *= np.exp(rng.normal(0, 0.15, nl))
    dep /= dep.mean()

    far = np.flatnonzero(d_centre > 2500)
    districts = rng.choice(far, size=min(3, far.size), replace=False) if far.size else np.array([], dtype=int)
    nte = 1 + 30 * np.exp(-d_centre / 450)
    retail = 1 + 18 * np.exp(-d_centre / 650)
    for k in districts:
        dd = np.hypot(*(lc - lc[k]).T)
        nte += 4 * np.exp(-dd / 300)
        retail += 10 * np.exp(-dd / 350)
    park = np.where(rng.uniform(size=nl) < 0.2, rng.uniform(3, 8, nl), 1.0)

    return CityGeography(
        outline=land,
        centre=harbour,
        lsoa_codes=lsoa_codes,
        lsoa_names=lsoa_names,
        lsoa_geoms=lsoa_geoms,
        lsoa_ward=ward_of,
        lsoa_msoa=lsoa_msoa,
        msoa_codes=msoa_codes,
        msoa_names=msoa_names,
        ward_codes=ward_codes,
        ward_names=ward_names,
        ward_geoms=ward_geoms,
        centre_ward=centre_ward,
        population=population,
        communal=communal,
        households=households,
        deprivation=dep,
        nte=nte,
        retail=retail,
        park=park,
        coastal_wards=coastal,
    )


def random_points_in(
    rng: np.random.Generator, poly: Polygon, n: int
) -> np.ndarray:
    """n uniform random points strictly inside poly (vectorised rejection sampling), shape (n, 2)."""
    minx, miny, maxx, maxy = poly.bounds
    frac = max(poly.area / ((maxx - minx) * (maxy - miny)), 0.05)
    shapely.prepare(poly)
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        m = int((n - got) / frac * 1.3) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(poly, x, y)
        out.append(np.c_[x[keep], y[keep]])
        got += int(keep.sum())
    return np.concatenate(out)[:n]

