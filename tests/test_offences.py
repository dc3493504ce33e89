"""Home Office offence classification table: lookups, integrity, and agreement with real published data."""
from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from crimeassess.classify import offences as ho
from crimeassess.schema import CRIME_TYPES, crime_type_id

# Names the shared crime_sim_toolkit files use for the same ONS groups / subgroups as our table.
GROUP_SYNONYMS = {"Miscellaneous crimes": "Miscellaneous crimes against society"}
SUBGROUP_SYNONYMS = {
    "Rape offences": "Rape",
    "Domestic burglary": "Residential burglary",
    "Non-domestic burglary": "Non-residential burglary",
    "Other theft offences": "All other theft offences",
    "Theft from a vehicle": "Vehicle offences",
    "Theft of a motor vehicle": "Vehicle offences",
    "Vehicle interference": "Vehicle offences",
    "Miscellaneous crimes": "Miscellaneous crimes against society",
    "Fraud: action fraud": "Action Fraud",
    "Fraud: CIFAS": "CIFAS",
    "Fraud: UK Finance": "UK Finance",
    "Fraud: Financial Fraud Action UK": "UK Finance",
}
# Known, intentional subgroup disagreements with the shared mapping file, with the reason.
_UNLAWFUL_DRIVING = (
    "ONS publishes 'Death or serious injury caused by unlawful driving' as its own violence subgroup; "
    "the shared file still files these under violence with injury"
)
INTENTIONAL_SUBGROUP_DISAGREEMENTS = {
    "4.4": _UNLAWFUL_DRIVING,
    "4.6": _UNLAWFUL_DRIVING,
    "4.8": _UNLAWFUL_DRIVING,
    "4.9": _UNLAWFUL_DRIVING,
    "37.1": _UNLAWFUL_DRIVING,
}
# Codes in the shared files that are not single offence codes, with the reason.
COMBINED_CODES = {"1/4.1/4.10/4.2": "Home Office open data aggregates homicide (1, 4.1, 4.10, 4.2) into one row"}


def test_lookup_normalises_codes() -> None:
    assert ho.lookup("8N").description == "Assault with injury"
    for spelling in ("8n", " 8N ", "008N", "08n"):
        assert ho.lookup(spelling).code == "8N", spelling
    assert ho.lookup("4/1").code == "4.1"
    assert ho.lookup("4.10").description == "Corporate manslaughter"
    assert ho.lookup("4.1").description == "Manslaughter"  # not confused with 4.10
    assert ho.lookup("037.2").code == "37.2"
    assert ho.lookup("uk finance").group == "Fraud offences"
    assert ho.lookup("99Z") is None and ho.lookup("") is None and ho.lookup(None) is None
    assert ho.is_known("28e") and not ho.is_known("28Z")


def test_key_classifications() -> None:
    cases = {
        "1": ("Homicide", "Violence against the person", "violence-and-sexual-offences"),
        "3B": ("Violence without injury", "Violence against the person", "violence-and-sexual-offences"),
        "8N": ("Violence with injury", "Violence against the person", "violence-and-sexual-offences"),
        "105A": ("Violence without injury", "Violence against the person", "violence-and-sexual-offences"),
        "8L": ("Stalking and harassment", "Violence against the person", "violence-and-sexual-offences"),
        "19C": ("Rape", "Sexual offences", "violence-and-sexual-offences"),
        "20A": ("Other sexual offences", "Sexual offences", "violence-and-sexual-offences"),
        "34B": ("Robbery of personal property", "Robbery", "robbery"),
        "28E": ("Residential burglary", "Theft offences", "burglary"),
        "30C": ("Non-residential burglary", "Theft offences", "burglary"),
        "45": ("Vehicle offences", "Theft offences", "vehicle-crime"),
        "39": ("Theft from the person", "Theft offences", "theft-from-the-person"),
        "44": ("Bicycle theft", "Theft offences", "bicycle-theft"),
        "46": ("Shoplifting", "Theft offences", "shoplifting"),
        "49": ("All other theft offences", "Theft offences", "other-theft"),
        "58A": ("Criminal damage", "Criminal damage and arson", "criminal-damage-arson"),
        "56B": ("Arson", "Criminal damage and arson", "criminal-damage-arson"),
        "92A": ("Trafficking of drugs", "Drug offences", "drugs"),
        "92E": ("Possession of drugs", "Drug offences", "drugs"),
        "10D": ("Possession of weapons offences", "Possession of weapons offences", "possession-of-weapons"),
        "9A": ("Public order offences", "Public order offences", "public-order"),
        "54": ("Miscellaneous crimes against society", "Miscellaneous crimes against society", "other-crime"),
    }
    for code, (subgroup, group, cat) in cases.items():
        off = ho.lookup(code)
        assert (off.subgroup, off.group, off.policeuk_category) == (subgroup, group, cat), code
        assert off.in_total_recorded_crime, code


def test_table_integrity() -> None:
    df = ho.offence_table()
    assert list(df.columns) == ho.TABLE_COLUMNS
    assert df["code"].is_unique
    assert df["in_total_recorded_crime"].dtype == bool
    assert set(df["group"]) == set(ho.GROUPS)
    assert set(df["subgroup"]) == set(ho.SUBGROUPS)
    assert set(df["policeuk_category"]) <= set(CRIME_TYPES)
    assert (df["source"].str.len() > 0).all()
    # Fraud, and only fraud, is outside total recorded crime.
    assert (df["in_total_recorded_crime"] == (df["group"] != "Fraud offences")).all()
    # Every code in the table looks itself up.
    assert all(ho.lookup(c) is not None and ho.normalise_code(ho.lookup(c).code) == c for c in df["code"])


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _agreement(rows: list[dict]) -> tuple[int, list[str], list[str]]:
    """Compare our group/subgroup with a shared file's; return (#codes compared, group diffs, subgroup diffs)."""
    seen: dict[str, tuple[str, str]] = {}
    for r in rows:
        seen[r["Offence_Code"]] = (r["Offence_Group"], r["Offence_Subgroup"])
    group_diffs, subgroup_diffs = [], []
    compared = 0
    for code, (group, subgroup) in sorted(seen.items()):
        if code in COMBINED_CODES:
            continue
        off = ho.lookup(code)
        assert off is not None, f"code {code} from the shared file is not in the offence table"
        compared += 1
        if GROUP_SYNONYMS.get(group, group) != off.group:
            group_diffs.append(f"{code}: shared group {group!r} vs ours {off.group!r}")
        if SUBGROUP_SYNONYMS.get(subgroup, subgroup) != off.subgroup:
            subgroup_diffs.append(f"{code}: shared subgroup {subgroup!r} vs ours {off.subgroup!r}")
    return compared, group_diffs, subgroup_diffs


@pytest.mark.realdata
def test_agreement_with_shared_mapping(shared_data) -> None:
    rows = _read_csv(shared_data / "homeoffice" / "offence-code-mapping.csv")
    compared, group_diffs, subgroup_diffs = _agreement(rows)
    print(f"\noffence-code-mapping.csv: {compared} codes compared")
    print(f"group agreement {compared - len(group_diffs)}/{compared}; disagreements: {group_diffs}")
    print(f"subgroup agreement {compared - len(subgroup_diffs)}/{compared}; disagreements:")
    for d in subgroup_diffs:
        print("  ", d)
    assert compared >= 120
    assert group_diffs == []
    unexplained = [d for d in subgroup_diffs if d.split(":")[0] not in INTENTIONAL_SUBGROUP_DISAGREEMENTS]
    assert unexplained == []
    assert (compared - len(subgroup_diffs)) / compared >= 0.95
    # police.uk category: the shared column is that project's own mapping; report and require broad agreement.
    cat_diffs = []
    for r in rows:
        if r["Offence_Code"] in COMBINED_CODES:
            continue
        theirs = crime_type_id(r["Police.uk_Cat"])
        if theirs != ho.lookup(r["Offence_Code"]).policeuk_category:
            cat_diffs.append(f"{r['Offence_Code']}: {r['Police.uk_Cat']!r} vs ours {ho.lookup(r['Offence_Code']).policeuk_category!r}")
    print(f"police.uk category disagreements: {cat_diffs}")
    assert len(cat_diffs) / compared <= 0.05


@pytest.mark.realdata
def test_every_prc_code_is_known(shared_data) -> None:
    rows = _read_csv(shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv")
    codes = {r["Offence_Code"] for r in rows}
    unknown = []
    for code in sorted(codes):
        if code in COMBINED_CODES:
            assert all(ho.is_known(part) for part in code.split("/")), code
            continue
        if not ho.is_known(code):
            unknown.append(code)
    assert unknown == [], f"codes in the 2017/18 PRC file not in the offence table: {unknown}"
    compared, group_diffs, subgroup_diffs = _agreement(rows)
    assert group_diffs == []
    assert all(d.split(":")[0] in INTENTIONAL_SUBGROUP_DISAGREEMENTS for d in subgroup_diffs), subgroup_diffs


@pytest.mark.realdata
def test_total_recorded_crime_excludes_exactly_fraud(shared_data) -> None:
    """Summing 2017/18 offences with our in_total flag must equal the file's non-fraud total."""
    rows = _read_csv(shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv")
    ours = defaultdict(int)
    theirs = defaultdict(int)
    for r in rows:
        n = int(r["Number_of_Offences"])
        code = r["Offence_Code"]
        off = ho.lookup(code.split("/")[0])  # combined homicide row -> murder's classification
        ours[off.in_total_recorded_crime] += n
        theirs[r["Offence_Group"] != "Fraud offences"] += n
    assert ours[True] == theirs[True] and ours[False] == theirs[False]
    assert ours[True] > 0 and ours[False] > 0
