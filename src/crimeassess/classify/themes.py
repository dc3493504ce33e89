"""Theme catalogue: named selections of records (e.g. 'Serious knife crime') and how each source supports them.

Built-in themes live in ``themes.toml`` next to this module; users add or override themes with their own
TOML files in the same layout (``[themes.<id>]`` tables), passed to :func:`load_themes`. A user table with a
built-in id overrides only the keys it gives; an empty list clears a selector.

The assessment engine filters a relation holding the canonical record columns (``crimeassess.schema``)
LEFT JOINed with the offence table as ``ho_group``, ``ho_subgroup`` and ``ho_in_total`` (on offence_code),
using :meth:`Theme.predicate`. :meth:`Theme.matches` is the same rule in plain Python.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ThemeError
from ..schema import CRIME_TYPES
from ..sources.registry import find_kind, ingestible_kinds
from ..sql import in_list, literal
from . import offences as ho
from . import selectors as sel
from .selectors import Selectors

#: Ingestible source kinds (from ``sources.registry``); a theme's support is decided by their capabilities.
SOURCE_KINDS: tuple[str, ...] = tuple(k.id for k in ingestible_kinds())
FLAGS: dict[str, str] = {"knife": "knife_flag", "hate": "hate_flag", "domestic": "domestic_flag"}
RECORD_TYPES = ("crime", "asb")

_LIST_KEYS = ("codes", "groups", "subgroups", "policeuk_categories", "flags", "sources")
_STR_KEYS = ("label", "description", "caveat", "caveat_from", "record_type")
_BOOL_KEYS = ("in_total",)
ALLOWED_KEYS = frozenset(_LIST_KEYS + _STR_KEYS + _BOOL_KEYS + sel.KEYS)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


sql_literal = literal  # the old name, kept for callers


def _in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN {in_list(values)}"


def _caveat_from(theme_id: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value.strip()):
        raise ThemeError(f"theme {theme_id!r}: caveat_from must be a month YYYY-MM, not {value!r}")
    return value.strip()


@dataclass(frozen=True)
class Theme:
    """A named selection of records. Use :func:`load_themes` to build validated themes."""

    id: str
    label: str
    description: str = ""
    codes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()
    policeuk_categories: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    in_total: bool = False
    record_type: str = "crime"
    sources: tuple[str, ...] | None = None  # explicit restriction; None = every source that can support it
    caveat: str | None = None
    #: YYYY-MM of a dated change the caveat describes: shown only when the compared periods straddle it.
    caveat_from: str | None = None
    origin: str = "built-in"
    #: where/when selectors (location type, police.uk place, zones, time, days, hotspots): ``classify.selectors``
    selectors: Selectors = Selectors()

    # -- what data can support the theme ------------------------------------------------------------
    @property
    def has_offence_selectors(self) -> bool:
        """True when the theme selects by Home Office codes, groups or subgroups."""
        return bool(self.codes or self.groups or self.subgroups)

    def _why_unsupported(self, source_kind: str) -> str | None:
        """Reason ``source_kind`` cannot support this theme, or None when it can."""
        kind = find_kind(source_kind)
        if kind is None or not kind.ingestible or not kind.counts_crime:
            raise ThemeError(f"unknown source kind {source_kind!r}; expected one of {', '.join(SOURCE_KINDS)}")
        if self.sources is not None and source_kind not in self.sources:
            return "the theme is restricted to other sources"
        if self.record_type == "asb":
            if not kind.asb:
                return f"{kind.label} holds recorded crime only, no anti-social behaviour"
            return None
        if self.flags and not kind.flags:
            return f"{kind.label}: no knife/hate/domestic flags"
        if self.has_offence_selectors and not self.policeuk_categories and not kind.offence_codes:
            return f"{kind.label}: no Home Office offence codes"
        return self.selectors.why_unsupported(source_kind)

    def available(self, source_kind: str) -> bool:
        """True when records of ``source_kind`` can support this theme."""
        return self._why_unsupported(source_kind) is None

    def unavailable_reason(self, source_kind: str) -> str | None:
        """A short sentence saying why ``source_kind`` cannot support the theme (None if it can)."""
        return self._why_unsupported(source_kind)

    def supported_sources(self) -> list[str]:
        """The source kinds that can support this theme."""
        return [k for k in SOURCE_KINDS if self.available(k)]

    # -- selection -----------------------------------------------------------------------------------
    def predicate(self, source_kind: str) -> str | None:
        """A DuckDB boolean SQL expression selecting this theme's records of ``source_kind``, or None
        when that source cannot support it. Columns used: is_crime, category_id, offence_code,
        knife_flag, hate_flag, domestic_flag, ho_group, ho_subgroup, ho_in_total."""
        if not self.available(source_kind):
            return None
        if self.record_type == "asb":
            cats = self.policeuk_categories or ("anti-social-behaviour",)
            return f"(NOT is_crime AND {_in_list('category_id', cats)})"
        parts = ["is_crime"]
        if find_kind(source_kind).offence_codes:
            alternatives = []
            if self.codes:
                alternatives.append(_in_list("offence_code", self.codes))
            if self.groups:
                alternatives.append(_in_list("ho_group", self.groups))
            if self.subgroups:
                alternatives.append(_in_list("ho_subgroup", self.subgroups))
            if not alternatives and self.policeuk_categories:
                alternatives.append(_in_list("category_id", self.policeuk_categories))
            if alternatives:
                parts.append("(" + " OR ".join(alternatives) + ")")
            if self.in_total:
                parts.append("coalesce(ho_in_total, false)")
            parts.extend(f"{FLAGS[f]} IS TRUE" for f in self.flags)
        elif self.policeuk_categories:
            parts.append(_in_list("category_id", self.policeuk_categories))
        parts.extend(self.selectors.sql_parts(source_kind))
        return "(" + " AND ".join(parts) + ")"

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Pure-Python equivalent of :meth:`predicate` for one canonical record (dict).

        Uses ``ho_group``/``ho_subgroup``/``ho_in_total`` when present, else looks up ``offence_code``."""
        kind = record.get("source_kind")
        if kind is None or not self.available(kind):
            return False
        is_crime = bool(record.get("is_crime"))
        category = record.get("category_id")
        if self.record_type == "asb":
            return (not is_crime) and category in (self.policeuk_categories or ("anti-social-behaviour",))
        if not is_crime:
            return False
        if not find_kind(kind).offence_codes:
            return (not self.policeuk_categories or category in self.policeuk_categories) and self.selectors.matches(record)
        code = record.get("offence_code")
        if "ho_group" in record:
            group, subgroup, in_total = record.get("ho_group"), record.get("ho_subgroup"), record.get("ho_in_total")
        else:
            off = ho.lookup(code) if code is not None else None
            group = off.group if off else None
            subgroup = off.subgroup if off else None
            in_total = off.in_total_recorded_crime if off else None
        if self.has_offence_selectors:
            if not (code in self.codes or group in self.groups or subgroup in self.subgroups):
                return False
        elif self.policeuk_categories and category not in self.policeuk_categories:
            return False
        if self.in_total and in_total is not True:
            return False
        return all(record.get(FLAGS[f]) is True for f in self.flags) and self.selectors.matches(record)


# -- loading and validation ---------------------------------------------------------------------------
def _validate(theme_id: str, raw: Mapping[str, Any], origin: str) -> Theme:
    """Build a Theme from one TOML table, raising ThemeError with a clear message on any problem."""
    where = f"theme {theme_id!r} ({origin})"
    if not _ID.match(theme_id):
        raise ThemeError(f"{where}: id must be lower-case letters, digits and underscores, starting with a letter")
    if not isinstance(raw, Mapping):
        raise ThemeError(f"{where}: must be a table of keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - ALLOWED_KEYS)
    if unknown:
        raise ThemeError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    for key in _LIST_KEYS:
        if key in raw and (not isinstance(raw[key], list) or not all(isinstance(v, str) for v in raw[key])):
            raise ThemeError(f"{where}: {key} must be a list of strings")
    for key in _STR_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ThemeError(f"{where}: {key} must be a string")
    for key in _BOOL_KEYS:
        if key in raw and not isinstance(raw[key], bool):
            raise ThemeError(f"{where}: {key} must be true or false")
    label = raw.get("label", "").strip()
    if not label:
        raise ThemeError(f"{where}: a label is required")

    codes = []
    for c in raw.get("codes", []):
        off = ho.lookup(c)
        if off is None:
            raise ThemeError(f"{where}: unknown Home Office offence code {c!r}")
        codes.append(ho.normalise_code(off.code))
    known_groups, known_subgroups = set(ho.groups()), set(ho.subgroups())
    for g in raw.get("groups", []):
        if g not in known_groups:
            raise ThemeError(f"{where}: unknown offence group {g!r}{_suggest(g, known_groups)}")
    for s in raw.get("subgroups", []):
        if s not in known_subgroups:
            raise ThemeError(f"{where}: unknown offence subgroup {s!r}{_suggest(s, known_subgroups)}")
    for cat in raw.get("policeuk_categories", []):
        if cat not in CRIME_TYPES:
            raise ThemeError(f"{where}: unknown police.uk category {cat!r}{_suggest(cat, CRIME_TYPES)}")
    for f in raw.get("flags", []):
        if f not in FLAGS:
            raise ThemeError(f"{where}: unknown flag {f!r}; expected one of {', '.join(FLAGS)}")
    record_type = raw.get("record_type", "crime")
    if record_type not in RECORD_TYPES:
        raise ThemeError(f"{where}: record_type must be 'crime' or 'asb', got {record_type!r}")
    sources = raw.get("sources")
    if sources is not None:
        for s in sources:
            if s not in SOURCE_KINDS:
                raise ThemeError(f"{where}: unknown source kind {s!r}; expected one of {', '.join(SOURCE_KINDS)}")
    if record_type == "asb":
        if codes or raw.get("groups") or raw.get("subgroups") or raw.get("flags") or raw.get("in_total"):
            raise ThemeError(f"{where}: an 'asb' theme can only select police.uk categories")
        bad = [c for c in raw.get("policeuk_categories", []) if c != "anti-social-behaviour"]
        if bad:
            raise ThemeError(f"{where}: an 'asb' theme cannot select crime categories {bad}")
    elif "anti-social-behaviour" in raw.get("policeuk_categories", []):
        raise ThemeError(f"{where}: anti-social behaviour is not crime; use record_type = \"asb\" in its own theme")

    theme = Theme(
        id=theme_id,
        label=label,
        description=raw.get("description", "").strip(),
        codes=tuple(dict.fromkeys(codes)),
        groups=tuple(dict.fromkeys(raw.get("groups", []))),
        subgroups=tuple(dict.fromkeys(raw.get("subgroups", []))),
        policeuk_categories=tuple(dict.fromkeys(raw.get("policeuk_categories", []))),
        flags=tuple(dict.fromkeys(raw.get("flags", []))),
        in_total=raw.get("in_total", False),
        record_type=record_type,
        sources=tuple(sources) if sources is not None else None,
        caveat=(raw.get("caveat") or "").strip() or None,
        caveat_from=_caveat_from(theme_id, raw.get("caveat_from")),
        origin=origin,
        selectors=sel.parse_selectors(where, raw, Path(origin).parent if origin != "built-in" else None),
    )
    if sources is not None:
        for s in sources:
            reason = dataclasses.replace(theme, sources=None)._why_unsupported(s)
            if reason:
                raise ThemeError(f"{where}: source {s!r} cannot support this theme: {reason}")
    if not theme.supported_sources():
        raise ThemeError(f"{where}: no source kind can support this theme")
    return theme


def _suggest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{origin}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"themes", "outcomes"})  # [outcomes]: classify.outcomes reads it
    if unknown:
        raise ThemeError(f"{origin}: unknown top-level key(s) {', '.join(unknown)}; themes go in [themes.<id>] tables")
    themes = doc.get("themes", {})
    if not isinstance(themes, dict):
        raise ThemeError(f"{origin}: 'themes' must be a table of [themes.<id>] tables")
    return themes


def builtin_theme_tables() -> dict[str, dict[str, Any]]:
    """The raw built-in theme tables from the packaged themes.toml (a fresh copy: callers may change it)."""
    return copy.deepcopy(_builtin_tables())


@functools.cache
def _builtin_tables() -> dict[str, dict[str, Any]]:
    # Parsed once per process: tomllib is pure Python (25 ms for this file) and an assessment loads the
    # themes four times.
    text = resources.files(__package__).joinpath("themes.toml").read_text(encoding="utf-8")
    return _read_toml(text, "built-in themes.toml")


def load_themes(extra_paths: Iterable[Path | str] | None = None) -> dict[str, Theme]:
    """Built-in themes plus user TOML files (applied in order), validated; id -> Theme in catalogue order.

    A user table whose id is built-in (or defined by an earlier file) overrides only the keys it gives."""
    raw: dict[str, tuple[dict[str, Any], str]] = {
        k: (dict(v), "built-in") for k, v in builtin_theme_tables().items()
    }
    for p in extra_paths or []:
        path = Path(p)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ThemeError(f"theme file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ThemeError(f"theme file {path} cannot be read: {exc}") from None
        for theme_id, table in _read_toml(text, str(path)).items():
            if not isinstance(table, dict):
                raise ThemeError(f"theme {theme_id!r} ({path}): must be a [themes.{theme_id}] table")
            base = raw.get(theme_id, ({}, ""))[0]
            raw[theme_id] = ({**base, **table}, str(path))
    themes = {theme_id: _validate(theme_id, table, origin) for theme_id, (table, origin) in raw.items()}
    for t in themes.values():
        hs = t.selectors.hotspots_of
        if hs and (hs not in themes or hs == t.id or themes[hs].selectors.hotspots_of):
            raise ThemeError(f"theme {t.id!r} ({t.origin}): hotspots_of must name another theme without hotspots "
                             f"of its own, not {hs!r}")
    return themes


def get_theme(theme_id: str, themes: Mapping[str, Theme] | None = None) -> Theme:
    """The theme with ``theme_id`` (from ``themes`` or the built-ins), or ThemeError naming close ids."""
    catalogue = themes if themes is not None else load_themes()
    if theme_id in catalogue:
        return catalogue[theme_id]
    raise ThemeError(f"unknown theme {theme_id!r}{_suggest(theme_id, catalogue)}; known: {', '.join(catalogue)}")


def describe_themes(extra_paths: Iterable[Path | str] | None = None) -> list[dict[str, Any]]:
    """The catalogue as plain rows (id, label, description, sources, selects, caveat, origin) for listing."""
    out = []
    for t in load_themes(extra_paths).values():
        parts = []
        if t.codes:
            parts.append("codes " + ", ".join(t.codes))
        if t.groups:
            parts.append("groups " + ", ".join(t.groups))
        if t.subgroups:
            parts.append("subgroups " + ", ".join(t.subgroups))
        if t.policeuk_categories:
            parts.append("police.uk " + ", ".join(t.policeuk_categories))
        if t.flags:
            parts.append("flags " + " and ".join(t.flags))
        if t.in_total and not parts:
            parts.append("all crime in total recorded crime")
        parts.extend(t.selectors.describe())
        out.append({"id": t.id, "label": t.label, "description": t.description, "sources": t.supported_sources(),
                    "selects": "; ".join(parts), "caveat": t.caveat, "origin": t.origin})
    return out
