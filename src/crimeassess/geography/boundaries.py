"""Boundary polygons (wards, LSOAs, MSOAs, local authorities, custom areas) read into one shape.

``read_boundaries`` accepts GeoJSON, TopoJSON, GeoPackage and Shapefile (also a zip holding one),
in British National Grid (EPSG:27700) or WGS84, and returns a GeoDataFrame in EPSG:27700 with columns

- ``code``    area code (string, unique; features sharing a code are dissolved into one area)
- ``name``    area name (string or None)
- ``level``   'ward' | 'lsoa' | 'msoa' | 'lad' | 'custom'
- ``vintage`` e.g. 'WD16' or 'LSOA11' from the code field's name, else None
- ``geometry`` valid (Multi)Polygon, EPSG:27700
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import shape

from ..errors import InputError

BNG = 27700
WGS84 = 4326
LEVELS = ("ward", "lsoa", "msoa", "lad", "custom")

# ONS field prefixes -> level.
_PREFIX_LEVEL = {"WD": "ward", "LSOA": "lsoa", "MSOA": "msoa", "LAD": "lad", "LA": "lad", "CTYUA": "lad", "UTLA": "lad"}
# ONS code prefixes (first three characters) -> level.
_CODE_LEVEL = {
    "E05": "ward", "W05": "ward", "S13": "ward",
    "E01": "lsoa", "W01": "lsoa",
    "E02": "msoa", "W02": "msoa",
    "E06": "lad", "E07": "lad", "E08": "lad", "E09": "lad", "W06": "lad",
}  # fmt: skip
# Most specific first: a ward file also carries its LAD code, and the ward code is the one we want.
_ONS_PREFIXES = ("WD", "LSOA", "MSOA", "OA", "LAD", "LA", "CTYUA", "UTLA", "CSP", "PFA")
_ONS_CODE_FIELD = re.compile(rf"({'|'.join(_ONS_PREFIXES)})(\d\d)CD", re.IGNORECASE)
_GENERIC_CODE_FIELDS = ("code", "ward_code", "wardcode", "area_code", "areacode", "geo_code", "gss_code", "id")
_GENERIC_NAME_FIELDS = ("name", "ward_name", "wardname", "area_name", "areaname", "geo_label", "label", "nm")


# --------------------------------------------------------------------------------------------- TopoJSON


def _topo_arcs(topo: dict) -> list[np.ndarray]:
    """Decode all arcs to absolute coordinates (undoing delta encoding and quantisation)."""
    transform = topo.get("transform")
    arcs = []
    for i, arc in enumerate(topo.get("arcs", [])):
        try:
            a = np.asarray(arc, dtype=float)[:, :2]
        except (ValueError, IndexError, TypeError):
            raise InputError(f"TopoJSON arc {i} is not a list of positions") from None
        if transform:
            a = np.cumsum(a, axis=0) * np.asarray(transform["scale"], float) + np.asarray(transform["translate"], float)
        arcs.append(a)
    return arcs


def _topo_ring(indexes: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """Join arcs (negative index ~i = arc i reversed) into one ring, dropping repeated joint points."""
    parts = []
    for k, idx in enumerate(indexes):
        try:
            a = arcs[idx] if idx >= 0 else arcs[~idx][::-1]
        except IndexError:
            raise InputError(f"TopoJSON refers to arc {idx} but has {len(arcs)} arcs") from None
        parts.append(a if k == 0 else a[1:])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _topo_point(pos: list[float], transform: dict | None) -> list[float]:
    if not transform:
        return list(pos[:2])
    return [pos[0] * transform["scale"][0] + transform["translate"][0], pos[1] * transform["scale"][1] + transform["translate"][1]]


def _topo_geometry(obj: dict, arcs: list[np.ndarray], transform: dict | None) -> Any:
    """One TopoJSON geometry object -> shapely geometry (None for a null geometry)."""
    typ = obj.get("type")
    if typ is None:
        return None
    if typ == "Polygon":
        rings = [_topo_ring(r, arcs) for r in obj["arcs"]]
        return shapely.Polygon(rings[0], rings[1:]) if rings else shapely.Polygon()
    if typ == "MultiPolygon":
        polys = []
        for p in obj["arcs"]:
            rings = [_topo_ring(r, arcs) for r in p]
            polys.append(shapely.Polygon(rings[0], rings[1:]))
        return shapely.MultiPolygon(polys)
    if typ == "LineString":
        return shapely.LineString(_topo_ring(obj["arcs"], arcs))
    if typ == "MultiLineString":
        return shapely.MultiLineString([_topo_ring(r, arcs) for r in obj["arcs"]])
    if typ == "Point":
        return shapely.Point(_topo_point(obj["coordinates"], transform))
    if typ == "MultiPoint":
        return shapely.MultiPoint([_topo_point(p, transform) for p in obj["coordinates"]])
    if typ == "GeometryCollection":
        return shapely.GeometryCollection([g for g in (_topo_geometry(o, arcs, transform) for o in obj["geometries"]) if g])
    raise InputError(f"TopoJSON geometry type {typ!r} is not supported")


def decode_topojson(topo: dict, object_name: str | None = None) -> tuple[list[dict], list[Any], Any]:
    """Decode a TopoJSON Topology into ``(properties, geometries, crs_member)``.

    Each member of the chosen object's GeometryCollection becomes one feature; its ``id`` is added to
    its properties as ``id`` when not already present. ``object_name`` picks one of several objects.
    """
    if topo.get("type") != "Topology" or not isinstance(topo.get("objects"), dict):
        raise InputError("not a TopoJSON Topology (no 'objects')")
    objects = topo["objects"]
    if object_name is None:
        if len(objects) != 1:
            raise InputError(f"TopoJSON holds {len(objects)} objects ({', '.join(objects)}); choose one with layer=")
        object_name = next(iter(objects))
    if object_name not in objects:
        raise InputError(f"TopoJSON has no object {object_name!r} (has {', '.join(objects)})")
    obj = objects[object_name]
    arcs = _topo_arcs(topo)
    transform = topo.get("transform")
    members = obj["geometries"] if obj.get("type") == "GeometryCollection" else [obj]
    props, geoms = [], []
    for m in members:
        p = dict(m.get("properties") or {})
        if "id" in m and "id" not in p:
            p["id"] = m["id"]
        props.append(p)
        try:
            geoms.append(_topo_geometry(m, arcs, transform))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"TopoJSON geometry {len(geoms)} is malformed ({exc})") from None
    return props, geoms, obj.get("crs") or topo.get("crs")


# --------------------------------------------------------------------------------------------- reading


def _crs_from_member(member: Any) -> CRS | None:
    """The CRS a GeoJSON/TopoJSON ``crs`` member names, or None when absent."""
    if not member:
        return None
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else member
    if not name:
        return None
    try:
        return CRS.from_user_input(name)
    except CRSError:
        raise InputError(f"unknown coordinate reference system {name!r}") from None


def _crs_from_coordinates(bounds: np.ndarray, source: str) -> CRS:
    """Guess WGS84 or British National Grid from coordinate ranges (for files without a CRS)."""
    minx, miny, maxx, maxy = bounds
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        return CRS.from_epsg(WGS84)
    if -200_000 <= minx and maxx <= 900_000 and -200_000 <= miny and maxy <= 1_400_000:
        return CRS.from_epsg(BNG)
    raise InputError(
        f"{source}: no CRS given and coordinates ({minx:.0f},{miny:.0f})–({maxx:.0f},{maxy:.0f}) "
        "are neither WGS84 nor British National Grid"
    )


def _read_json(path: Path, data: bytes, layer: str | None) -> gpd.GeoDataFrame:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path.name}: JSON is not a GeoJSON/TopoJSON object")
    typ = doc.get("type")
    if typ == "Topology":
        props, geoms, crs_member = decode_topojson(doc, layer)
    elif typ in ("FeatureCollection", "Feature"):
        feats = doc.get("features", []) if typ == "FeatureCollection" else [doc]
        props, geoms = [], []
        for i, f in enumerate(feats):
            props.append(dict(f.get("properties") or {}))
            if "id" in f and "id" not in props[-1]:
                props[-1]["id"] = f["id"]
            g = f.get("geometry")
            try:
                geoms.append(shape(g) if g else None)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
                raise InputError(f"{path.name}: feature {i} has a malformed geometry ({exc})") from None
        crs_member = doc.get("crs")
    else:
        raise InputError(f"{path.name}: JSON type {typ!r} is not a FeatureCollection or Topology")
    crs = _crs_from_member(crs_member)
    return gpd.GeoDataFrame(props if props else None, geometry=geoms, crs=crs)


def _read_ogr(path: Path, layer: str | None, vsi: str | None = None) -> gpd.GeoDataFrame:
    import pyogrio  # only for GeoPackage/Shapefile input: GDAL bindings are slow to load

    target = vsi or str(path)
    try:
        layers = pyogrio.list_layers(target)
        if layer is None:
            polygonal = [n for n, t in layers if t and "polygon" in str(t).lower()]
            if len(layers) == 1:
                layer = layers[0][0]
            elif len(polygonal) == 1:
                layer = polygonal[0]
            else:
                names = ", ".join(n for n, _ in layers)
                raise InputError(f"{path.name}: holds several layers ({names}); choose one with layer=")
        return gpd.read_file(target, layer=layer, engine="pyogrio")
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{path.name}: cannot open as GeoPackage/Shapefile ({str(exc).splitlines()[0]})") from None
    except pyogrio.errors.DataLayerError as exc:
        raise InputError(f"{path.name}: cannot read layer {layer!r} ({str(exc).splitlines()[0]})") from None


def _read_any(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    """Read the file into a raw GeoDataFrame (crs may be None). Returns (gdf, format name)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        raise InputError(f"{path.name}: file is empty")
    if head.startswith(b"SQLite format 3\x00"):
        return _read_ogr(path, layer), "GeoPackage"
    if head.startswith(b"\x00\x00\x27\x0a"):
        return _read_ogr(path, layer), "Shapefile"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [n for n in zf.namelist() if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json", ".topojson"))]
        except zipfile.BadZipFile:
            raise InputError(f"{path.name}: damaged zip file") from None
        if len(members) != 1:
            raise InputError(f"{path.name}: zip must hold exactly one boundary file, found {len(members)}")
        member = members[0]
        if member.lower().endswith((".json", ".geojson", ".topojson")):
            with zipfile.ZipFile(path) as zf:
                return _read_json(path, zf.read(member), layer), "GeoJSON"
        return _read_ogr(path, layer, vsi=f"/vsizip/{path.resolve()}/{member}"), "zipped " + member.rsplit(".", 1)[-1]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") or not head.strip():
        return _read_json(path, path.read_bytes(), layer), "GeoJSON/TopoJSON"
    raise InputError(f"{path.name}: not GeoJSON, TopoJSON, GeoPackage or Shapefile")


def _pick_field(
    columns: list[str], given: str | None, ons: list[str], generic: tuple[str, ...], what: str, path: Path
) -> str | None:
    """The field holding the area code/name: given, else first ONS pattern matched, else a generic name."""
    if given is not None:
        if given not in columns:
            raise InputError(f"{path.name}: no field {given!r} for the {what} (fields: {', '.join(map(str, columns))})")
        return given
    for pattern in ons:
        for c in columns:
            if re.fullmatch(pattern, str(c).strip(), re.IGNORECASE):
                return c
    lower = {str(c).strip().lower(): c for c in columns}
    for g in generic:
        if g in lower:
            return lower[g]
    # e.g. 'wd_code', 'lsoa_code', 'Ward Code'
    suffix = "code" if what == "code" else "name"
    for c in columns:
        if re.fullmatch(rf".*[_ ]?{suffix}", str(c).strip().lower()) and str(c).lower() != "geometry":
            return c
    return None


def _polygonal(geom: Any) -> Any:
    """Keep only polygon parts (make_valid can return collections with stray lines/points)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def read_boundaries(
    path: str | Path,
    *,
    level: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read area polygons from GeoJSON, TopoJSON, GeoPackage or Shapefile into EPSG:27700.

    Returns a GeoDataFrame with columns code, name, level, vintage, geometry (see module doc).
    The CRS comes from the file, or from coordinate ranges when the file has none (a GeoJSON
    declaring WGS84 whose coordinates are clearly eastings/northings is read as 27700).
    ``code_field``/``name_field`` override field detection (ONS ``WD16CD``/``WD16NM`` style first,
    then ``code``/``id``/``name`` ...). ``level`` overrides the level inferred from field names or
    code prefixes. ``layer`` picks a GeoPackage layer or TopoJSON object when there are several.
    Invalid geometries are repaired with make_valid. Raises InputError on unusable input.
    """
    path = Path(path)
    if level is not None and level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    raw, fmt = _read_any(path, layer)
    if raw.empty:
        raise InputError(f"{path.name}: {fmt} holds no features")
    columns = [c for c in raw.columns if c != raw.geometry.name]
    code_patterns = [rf"{p}\d\dCD" for p in _ONS_PREFIXES]
    cfield = _pick_field(columns, code_field, code_patterns, _GENERIC_CODE_FIELDS, "code", path)
    if cfield is None and level == "custom":
        # A user-drawn area need not carry codes: number its features.
        raw = raw.assign(_custom_code=[f"custom-{i + 1}" for i in range(len(raw))])
        cfield = "_custom_code"
        columns = [*columns, cfield]
    if cfield is None:
        raise InputError(f"{path.name}: cannot tell which field holds area codes (fields: {', '.join(map(str, columns))}); give code_field=")
    m = _ONS_CODE_FIELD.fullmatch(str(cfield).strip())
    # Name field of the same family as the code field (WD16CD -> WD16NM), else any ONS name, else generic.
    name_patterns = ([rf"{m.group(1)}{m.group(2)}NM"] if m else []) + [rf"{p}\d\dNM" for p in _ONS_PREFIXES]
    nfield = _pick_field(columns, name_field, name_patterns, _GENERIC_NAME_FIELDS, "name", path)
    if nfield == cfield:
        nfield = None

    geoms = raw.geometry
    nulls = geoms.isna() | geoms.is_empty
    if nulls.any():
        i = int(np.flatnonzero(nulls.to_numpy())[0])
        raise InputError(f"{path.name}: feature {i} ({raw[cfield].iloc[i]}) has no geometry")
    kinds = set(geoms.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"{path.name}: boundaries must be polygons, found {', '.join(sorted(kinds))}")

    codes = raw[cfield]
    if codes.isna().any() or (codes.astype(str).str.strip() == "").any():
        i = int(np.flatnonzero((codes.isna() | (codes.astype(str).str.strip() == "")).to_numpy())[0])
        raise InputError(f"{path.name}: feature {i} has an empty {cfield}")
    codes = codes.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
    names = raw[nfield].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() or None) if nfield else None

    # CRS: declared, or guessed; a declared geographic CRS with projected-looking values is a common mislabel.
    bounds = np.asarray(geoms.total_bounds)
    crs = raw.crs
    if crs is None or (crs.is_geographic and (np.abs(bounds[[0, 2]]) > 180).any()):
        crs = _crs_from_coordinates(bounds, path.name)
    # Wards often carry their local authority (LAD25CD/LAD25NM): keep it, so boundaries alone can define a
    # ward vintage (ward -> local authority) when no LSOA lookup of that vintage exists yet.
    lad_cd = next((c for c in columns if re.fullmatch(r"LAD\d\dCD", str(c), flags=re.I)), None)
    lad_nm = next((c for c in columns if re.fullmatch(r"LAD\d\dNM", str(c), flags=re.I)), None)

    def _text(col: str | None) -> Any:
        if col is None or col == cfield:
            return None
        return raw[col].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() or None).to_numpy()

    gdf = gpd.GeoDataFrame(
        {"code": codes.to_numpy(), "name": names.to_numpy() if names is not None else None,
         "lad_code": _text(lad_cd), "lad_name": _text(lad_nm)},
        geometry=geoms.to_numpy(),
        crs=crs,
    )
    if not gdf.crs.equals(CRS.from_epsg(BNG)):
        gdf = gdf.to_crs(BNG)

    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf.loc[invalid, "geometry"] = gdf.geometry[invalid].make_valid().map(_polygonal)
        emptied = gdf.geometry.is_empty
        if emptied.any():
            code = gdf["code"][emptied].iloc[0]
            raise InputError(f"{path.name}: area {code} has a degenerate geometry (no area once repaired)")
    if gdf["code"].duplicated().any():
        # One area split over several features (e.g. islands stored separately): dissolve by code.
        gdf = gdf.dissolve(by="code", as_index=False, sort=False, aggfunc="first")[
            ["code", "name", "lad_code", "lad_name", "geometry"]]
        gdf = gdf.set_geometry(gdf.geometry.map(_polygonal))

    vintage = f"{m.group(1).upper()}{m.group(2)}" if m else None
    if level is None:
        level = _PREFIX_LEVEL.get(m.group(1).upper(), "custom") if m else None
        if level is None:
            found = {_CODE_LEVEL.get(c[:3], "custom") for c in gdf["code"]}
            level = found.pop() if len(found) == 1 else "custom"
    gdf.insert(2, "level", level)
    gdf.insert(3, "vintage", vintage)
    return gdf.reset_index(drop=True)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in WGS84 (EPSG:4326), e.g. for the dashboard's web map."""
    if gdf.crs is None:
        raise InputError("boundaries have no CRS; read them with read_boundaries first")
    return gdf.to_crs(WGS84)
