"""Theme catalogue: built-ins, availability per source, DuckDB predicates vs pure Python, user TOML."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from crimeassess.classify import offences as ho
from crimeassess.classify.themes import SOURCE_KINDS, get_theme, load_themes, sql_literal
from crimeassess.errors import ThemeError
from crimeassess.sources.base import records_table

REQUIRED_IDS = [
    "total", "knife_crime", "hate_crime", "domestic_abuse", "rape", "sexual_offences", "violence_with_injury",
    "violence_without_injury", "burglary", "burglary_residential", "burglary_non_residential", "robbery",
    "vehicle_offences", "drug_offences", "threats_to_kill", "criminal_damage_arson", "shoplifting",
    "theft_from_person", "bicycle_theft", "public_order", "possession_of_weapons", "anti_social_behaviour",
]

# Small canonical records: (uid, source_kind, category_id, is_crime, offence_code, knife, hate, domestic)
ROWS = [
    ("e1", "extract", "violence-and-sexual-offences", True, "8N", True, None, True),
    ("e2", "extract", "violence-and-sexual-offences", True, "8N", False, True, None),
    ("e3", "extract", "violence-and-sexual-offences", True, "3B", True, None, None),
    ("e4", "extract", "violence-and-sexual-offences", True, "19C", True, None, True),
    ("e5", "extract", "burglary", True, "28E", None, None, None),
    ("e6", "extract", "burglary", True, "30C", None, None, None),
    ("e7", "extract", "robbery", True, "34B", True, None, None),
    ("e8", "extract", "other-crime", True, "53C", None, None, None),  # fraud: outside total
    ("e9", "extract", "violence-and-sexual-offences", True, "105A", None, True, True),
    ("e10", "extract", "possession-of-weapons", True, "10D", True, None, None),  # knife but not selected offence
    ("e11", "extract", "drugs", True, "92E", None, None, None),
    ("e12", "extract", "violence-and-sexual-offences", True, "1", True, None, None),
    ("p1", "police-uk-street", "burglary", True, None, None, None, None),
    ("p2", "police-uk-street", "anti-social-behaviour", False, None, None, None, None),
    ("p3", "police-uk-street", "violence-and-sexual-offences", True, None, None, None, None),
    ("p4", "police-uk-street", "drugs", True, None, None, None, None),
    ("a1", "police-uk-api", "burglary", True, None, None, None, None),
    ("a2", "police-uk-api", "anti-social-behaviour", False, None, None, None, None),
    ("a3", "police-uk-api", "shoplifting", True, None, None, None, None),
]

# Hand-worked expected selections for the extract rows.
EXPECTED_EXTRACT = {
    "total": {"e1", "e2", "e3", "e4", "e5", "e6", "e7", "e9", "e10", "e11", "e12"},
    "knife_crime": {"e1", "e3", "e4", "e7", "e12"},
    "hate_crime": {"e2", "e9"},
    "domestic_abuse": {"e1", "e4", "e9"},
    "rape": {"e4"},
    "sexual_offences": {"e4"},
    "violence_with_injury": {"e1", "e2"},
    "violence_without_injury": {"e3", "e9"},
    "burglary": {"e5", "e6"},
    "burglary_residential": {"e5"},
    "burglary_non_residential": {"e6"},
    "robbery": {"e7"},
    "drug_offences": {"e11"},
    "threats_to_kill": {"e3"},
    "possession_of_weapons": {"e10"},
}
EXPECTED_POLICEUK = {
    "total": {"p1", "p3", "p4", "a1", "a3"},
    "burglary": {"p1", "a1"},
    "drug_offences": {"p4"},
    "shoplifting": {"a3"},
    "anti_social_behaviour": {"p2", "a2"},
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET memory_limit='256MB'")
    cols = {k: [] for k in ("uid", "source_kind", "category_id", "is_crime", "offence_code",
                            "knife_flag", "hate_flag", "domestic_flag")}
    for row in ROWS:
        for k, v in zip(cols, row):
            cols[k].append(v)
    c.register("records_arrow", records_table(cols))
    c.register("offences_df", ho.offence_table())
    c.execute(
        """CREATE VIEW r AS SELECT rec.*, o."group" AS ho_group, o.subgroup AS ho_subgroup,
               o.in_total_recorded_crime AS ho_in_total
           FROM records_arrow rec LEFT JOIN offences_df o ON rec.offence_code = o.code"""
    )
    yield c
    c.close()


def _sql_select(con, pred: str, kind: str) -> set[str]:
    rows = con.execute(f"SELECT uid FROM r WHERE source_kind = ? AND {pred}", [kind]).fetchall()
    return {r[0] for r in rows}


def _py_select(theme, kind: str) -> set[str]:
    keys = ("uid", "source_kind", "category_id", "is_crime", "offence_code", "knife_flag", "hate_flag", "domestic_flag")
    return {row[0] for row in ROWS if row[1] == kind and theme.matches(dict(zip(keys, row)))}


def test_builtins_present_and_labelled() -> None:
    themes = load_themes()
    for tid in REQUIRED_IDS:
        assert tid in themes, tid
        assert themes[tid].label
    assert themes["knife_crime"].label == "Serious knife crime"
    for tid in ("hate_crime", "sexual_offences", "rape"):
        assert themes[tid].caveat and "recording" in themes[tid].caveat


def test_availability() -> None:
    t = load_themes()
    for kind in ("police-uk-street", "police-uk-api"):
        for tid in ("hate_crime", "knife_crime", "domestic_abuse", "rape", "sexual_offences", "violence_with_injury",
                    "burglary_residential", "burglary_non_residential", "threats_to_kill"):
            assert not t[tid].available(kind) and t[tid].predicate(kind) is None, (tid, kind)
            assert t[tid].unavailable_reason(kind)
        for tid in ("total", "burglary", "robbery", "vehicle_offences", "drug_offences", "shoplifting",
                    "anti_social_behaviour"):
            assert t[tid].available(kind), (tid, kind)
    assert not t["anti_social_behaviour"].available("extract")
    assert all(t[tid].available("extract") for tid in REQUIRED_IDS if tid != "anti_social_behaviour")
    assert t["burglary"].predicate("police-uk-street") == "(is_crime AND category_id IN ('burglary'))"
    assert t["total"].predicate("police-uk-api") == "(is_crime)"
    with pytest.raises(ThemeError, match="unknown source kind"):
        t["total"].available("csv")


def test_predicates_match_expected_and_python(con) -> None:
    themes = load_themes()
    for tid, theme in themes.items():
        if theme.selectors.zones or theme.selectors.hotspots_of:
            continue  # their tables are built by the engine: tests/test_selectors.py recounts them
        for kind in SOURCE_KINDS:
            pred = theme.predicate(kind)
            py = _py_select(theme, kind)
            if pred is None:
                assert py == set(), (tid, kind)
                continue
            sql = _sql_select(con, pred, kind)
            assert sql == py, (tid, kind, sql, py)
    for tid, expected in EXPECTED_EXTRACT.items():
        assert _sql_select(con, themes[tid].predicate("extract"), "extract") == expected, tid
    for tid, expected in EXPECTED_POLICEUK.items():
        got = set()
        for kind in ("police-uk-street", "police-uk-api"):
            got |= _sql_select(con, themes[tid].predicate(kind), kind)
        assert got == expected, tid


def test_asb_never_in_total(con) -> None:
    t = load_themes()
    for kind in ("police-uk-street", "police-uk-api"):
        total = _sql_select(con, t["total"].predicate(kind), kind)
        asb = _sql_select(con, t["anti_social_behaviour"].predicate(kind), kind)
        assert asb and not (total & asb)


def test_sql_literal_escapes(con) -> None:
    assert sql_literal("O'Brien") == "'O''Brien'"
    assert con.execute(f"SELECT {sql_literal(chr(39) + '; DROP TABLE r; --')}").fetchone()[0] == "'; DROP TABLE r; --"


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_user_themes_add_and_override(tmp_path: Path, con) -> None:
    p = _write(tmp_path, """
[themes.domestic_vwi]
label = "Domestic violence with injury"
subgroups = ["Violence with injury"]
flags = ["domestic"]

[themes.burglary]
caveat = "Local caveat."

[themes.drugs_pu]
label = "Drugs (police.uk)"
policeuk_categories = ["drugs"]
sources = ["police-uk-street"]
""")
    themes = load_themes([p])
    new = themes["domestic_vwi"]
    assert new.origin == str(p) and new.supported_sources() == ["extract"]
    assert _sql_select(con, new.predicate("extract"), "extract") == {"e1"}
    burg = themes["burglary"]
    assert burg.caveat == "Local caveat." and burg.subgroups == ("Residential burglary", "Non-residential burglary")
    assert burg.policeuk_categories == ("burglary",)
    assert themes["drugs_pu"].supported_sources() == ["police-uk-street"]
    assert _sql_select(con, themes["drugs_pu"].predicate("police-uk-street"), "police-uk-street") == {"p4"}
    ids = list(themes)
    assert ids[:2] == ["total", "knife_crime"] and ids[-2:] == ["domestic_vwi", "drugs_pu"]
    assert get_theme("domestic_vwi", themes) is new


@pytest.mark.parametrize(
    "body, message",
    [
        ('[themes.x]\nlabel = "X"\ncolour = "red"\n', "unknown key"),
        ('[themes.x]\nlabel = "X"\ngroups = ["Violence"]\n', "unknown offence group 'Violence'"),
        ('[themes.x]\nlabel = "X"\nsubgroups = ["Burglary"]\n', "unknown offence subgroup"),
        ('[themes.x]\nlabel = "X"\npoliceuk_categories = ["burglaries"]\n', "did you mean 'burglary'"),
        ('[themes.x]\nlabel = "X"\ncodes = ["99Z"]\n', "unknown Home Office offence code"),
        ('[themes.x]\nlabel = "X"\nflags = ["gun"]\n', "unknown flag"),
        ('[themes.x]\ngroups = ["Robbery"]\n', "label is required"),
        ('[themes.x]\nlabel = "X"\ngroups = "Robbery"\n', "must be a list of strings"),
        ('[themes.x]\nlabel = "X"\nflags = ["knife"]\nsources = ["police-uk-street"]\n', "cannot support"),
        ('[themes.x]\nlabel = "X"\npoliceuk_categories = ["anti-social-behaviour"]\n', "not crime"),
        ('[themes.x]\nlabel = "X"\nrecord_type = "asb"\ngroups = ["Robbery"]\n', "'asb' theme"),
        ('[themes.Bad-Id]\nlabel = "X"\n', "id must be"),
        ('[theme.x]\nlabel = "X"\n', "unknown top-level key"),
        ('[themes.x\nlabel = "X"\n', "not valid TOML"),
    ],
)
def test_user_theme_validation(tmp_path: Path, body: str, message: str) -> None:
    p = _write(tmp_path, body)
    with pytest.raises(ThemeError, match=message):
        load_themes([p])


def test_missing_theme_file_and_unknown_id(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="does not exist"):
        load_themes([tmp_path / "nope.toml"])
    with pytest.raises(ThemeError, match="did you mean 'burglary'"):
        get_theme("burglar")
