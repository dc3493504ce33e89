"""Outcomes: an extract's ``outcome`` text or a police.uk outcome category → a Home Office outcome group.

The Home Office outcomes framework numbers the ways an investigation ends (1 charge/summons … 22 diversionary
activity); police.uk publishes its own wording of them. Both map to the groups in :data:`GROUPS`:

| group | Home Office outcome types | police.uk wording (examples) |
|---|---|---|
| ``charge_summons`` | 1 charged/summonsed | Suspect charged; Awaiting court outcome; Offender sent to prison; Offender fined; Court result unavailable; Defendant found not guilty … (every court stage follows a charge) |
| ``caution`` | 2 youth caution, 3 adult caution (and conditional cautions) | Offender given a caution |
| ``community_resolution`` | 8 community resolution | Local resolution |
| ``other_out_of_court`` | 6 penalty notice for disorder, 7 cannabis/khat warning, 22 diversionary activity | Offender given penalty notice; Offender given a drugs possession warning |
| ``evidential_difficulties`` | 14, 15, 16 evidential difficulties (suspect identified or not; victim supports action or not) | Unable to prosecute suspect |
| ``no_suspect`` | 18 investigation complete, no suspect identified | Investigation complete; no suspect identified |
| ``not_in_public_interest`` | 9, 10, 21 prosecution / further investigation not in the public interest | Formal action is not in the public interest; Further investigation is not in the public interest |
| ``other`` | 4 taken into consideration, 5 offender died, 11–13 prosecution prevented, 17 time limit expired, 20 action by another body | Suspect charged as part of another case; Action to be taken by another organisation |
| ``under_investigation`` | no outcome yet | Under investigation |
| ``not_known`` | — | Status update unavailable |

An extract's value may be the outcome's number ("1", "Outcome 15", "OC18 - no suspect") or its words
("Charged/summonsed", "Investigation complete: no suspect identified"); case and spacing are ignored. Values
this table does not know are reported as ``unmapped`` (with the commonest ones listed), never guessed. Users
add their own wording in an ``[outcomes]`` table of a themes TOML file (``"NFA - victim withdrew" =
"evidential_difficulties"``), passed with ``--themes``.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import ThemeError
from ..sources.outcomes import POLICEUK_OUTCOME_TYPES

#: Outcome groups in display order: id -> label.
GROUPS: dict[str, str] = {
    "charge_summons": "Charged or summonsed",
    "caution": "Caution",
    "community_resolution": "Community resolution",
    "other_out_of_court": "Other out-of-court disposal",
    "evidential_difficulties": "Evidential difficulties",
    "no_suspect": "No suspect identified",
    "not_in_public_interest": "Not in the public interest",
    "other": "Other outcome",
    "under_investigation": "Under investigation (no outcome yet)",
    "not_known": "Outcome not known",
}
#: The groups whose shares the assessment reports (the issue's six); the rest are counted in the totals.
REPORTED = ("charge_summons", "caution", "community_resolution", "no_suspect", "evidential_difficulties",
            "under_investigation")

#: Home Office outcome number -> group.
HO_NUMBERS: dict[int, str] = {
    1: "charge_summons", 2: "caution", 3: "caution", 4: "other", 5: "other", 6: "other_out_of_court",
    7: "other_out_of_court", 8: "community_resolution", 9: "not_in_public_interest",
    10: "not_in_public_interest", 11: "other", 12: "other", 13: "other", 14: "evidential_difficulties",
    15: "evidential_difficulties", 16: "evidential_difficulties", 17: "other", 18: "no_suspect", 20: "other",
    21: "not_in_public_interest", 22: "other_out_of_court",
}

_POLICEUK: dict[str, str] = {
    "investigation complete; no suspect identified": "no_suspect",
    "unable to prosecute suspect": "evidential_difficulties",
    "local resolution": "community_resolution",
    "offender given a caution": "caution",
    "offender given a drugs possession warning": "other_out_of_court",
    "offender given penalty notice": "other_out_of_court",
    "suspect charged": "charge_summons",
    "suspect charged as part of another case": "other",
    "formal action is not in the public interest": "not_in_public_interest",
    "further investigation is not in the public interest": "not_in_public_interest",
    "further action is not in the public interest": "not_in_public_interest",
    "action to be taken by another organisation": "other",
    "offender given community sentence": "charge_summons",
    "offender sent to prison": "charge_summons",
    "offender fined": "charge_summons",
    "offender given suspended prison sentence": "charge_summons",
    "offender given conditional discharge": "charge_summons",
    "offender given absolute discharge": "charge_summons",
    "offender ordered to pay compensation": "charge_summons",
    "offender otherwise dealt with": "charge_summons",
    "offender deprived of property": "charge_summons",
    "defendant found not guilty": "charge_summons",
    "defendant sent to crown court": "charge_summons",
    "court case unable to proceed": "charge_summons",
    "court result unavailable": "charge_summons",
    "awaiting court outcome": "charge_summons",
    "under investigation": "under_investigation",
    "status update unavailable": "not_known",
}
assert set(_POLICEUK) == set(POLICEUK_OUTCOME_TYPES)

#: Home Office framework wording as forces export it (lower case, spaces collapsed).
_HOME_OFFICE: dict[str, str] = {
    "charged/summonsed": "charge_summons", "charge/summons": "charge_summons", "charged": "charge_summons",
    "summonsed": "charge_summons", "charge": "charge_summons", "postal requisition": "charge_summons",
    "caution - adults": "caution", "caution - youths": "caution", "caution": "caution", "adult caution": "caution",
    "youth caution": "caution", "conditional caution": "caution", "youth conditional caution": "caution",
    "cannabis/khat warning": "other_out_of_court", "cannabis warning": "other_out_of_court",
    "penalty notice for disorder": "other_out_of_court", "diversionary, educational or intervention activity":
    "other_out_of_court",
    "community resolution": "community_resolution",
    "taken into consideration": "other", "offender died": "other", "time limit expired": "other",
    "action undertaken by another body": "other", "action undertaken by another body/agency": "other",
    "prosecution prevented": "other",
    "prosecution not in the public interest": "not_in_public_interest",
    "not in the public interest": "not_in_public_interest",
    "evidential difficulties: suspect identified; victim does not support further action": "evidential_difficulties",
    "evidential difficulties: suspect identified; victim supports action": "evidential_difficulties",
    "evidential difficulties: suspect not identified; victim does not support further action":
        "evidential_difficulties",
    "evidential difficulties": "evidential_difficulties",
    "investigation complete: no suspect identified": "no_suspect",
    "investigation complete - no suspect identified": "no_suspect",
    "no suspect identified": "no_suspect",
    "under investigation": "under_investigation", "pending": "under_investigation",
    "outcome pending": "under_investigation", "open": "under_investigation",
}
_NUMBER = re.compile(r"^(?:outcome|oc|ot|type)?\s*(\d{1,2})\b", re.I)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def builtin_map() -> dict[str, str]:
    """The built-in wording table: normalised text -> group (police.uk and Home Office wording)."""
    return {**_HOME_OFFICE, **_POLICEUK}


def load_outcome_map(extra_paths: Iterable[Path | str] | None = None) -> dict[str, str]:
    """The built-in table plus each file's ``[outcomes]`` table (text -> group id); ThemeError on a bad group."""
    table = builtin_map()
    for p in extra_paths or []:
        path = Path(p)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ThemeError(f"{path}: cannot read outcomes: {exc}") from None
        extra = doc.get("outcomes", {})
        if not isinstance(extra, dict):
            raise ThemeError(f"{path}: [outcomes] must be a table of \"outcome text\" = \"group\"")
        for text, group in extra.items():
            if group not in GROUPS:
                raise ThemeError(f"{path}: outcome {text!r} maps to unknown group {group!r}; "
                                 f"expected one of {', '.join(GROUPS)}")
            table[_norm(text)] = group
    return table


def classify_outcome(text: str | None, table: Mapping[str, str] | None = None) -> str | None:
    """The group of one outcome value: None for a blank value (no outcome given), "unmapped" for unknown text."""
    if text is None or not text.strip():
        return None
    t = _norm(text)
    table = table if table is not None else builtin_map()
    if t in table:
        return table[t]
    m = _NUMBER.match(t)
    if m and int(m.group(1)) in HO_NUMBERS:
        return HO_NUMBERS[int(m.group(1))]
    return "unmapped"
