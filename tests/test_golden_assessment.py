"""The demo city's assessment JSON, pinned: a change of structure must not change a number or a word.

The golden file is the demo city's (seed 2018, synthetic) assessment.json without its timestamps. When a
change is *meant* to change the output, rewrite it with ``UPDATE_GOLDEN=1 python -m pytest
tests/test_golden_assessment.py`` and say why in the commit.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "demo-assessment.json"
#: Keys whose values are clocks, not results.
VOLATILE = {"generated_at", "loaded_at", "ingested_at"}
#: Forecasts from fitted ETS models (the expected-range section): the optimiser's last steps follow the CPU's
#: floating-point kernels, and two machines gave two wards' forecasts 0.1-0.3% apart with the same packages.
#: Their numbers are compared to 1%; their words and verdicts (strings, booleans) exactly, as everything else.
FITTED = ".expected."
FITTED_REL_TOL = 0.01


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Differences between two JSON values; floats equal within 1e-9 (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in golden" for k in a.keys() - b.keys()]
        out += [f"{path}.{k}: new key" for k in b.keys() - a.keys()]
        for k in a.keys() & b.keys():
            out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items in golden, {len(b)} now"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(b, bool) \
            and (isinstance(a, float) or isinstance(b, float)):
        rel = FITTED_REL_TOL if path.startswith(FITTED) else 1e-9
        return [] if math.isclose(a, b, rel_tol=rel, abs_tol=1e-12) else [f"{path}: {a!r} → {b!r}"]
    return [] if a == b else [f"{path}: {a!r} → {b!r}"]


def test_demo_assessment_matches_the_golden_file(demo_result) -> None:
    now = _strip(json.loads(json.dumps(demo_result.to_dict())))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(now, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    diffs = _diff(golden, now)
    assert not diffs, f"{len(diffs)} differences, first: " + "; ".join(diffs[:10])


def test_the_result_is_typed_and_round_trips(demo_result) -> None:
    from crimeassess.assess.result import AssessmentResult, Total, WardRow

    res = demo_result.result
    assert isinstance(res, AssessmentResult) and isinstance(res.total, Total)
    assert all(isinstance(w, WardRow) for w in res.wards)
    d = demo_result.to_dict()
    assert res.total.pct_change == d["total"]["pct_change"] and res.coverage.basis == d["coverage"]["basis"]
    assert [w.name for w in res.wards] == [w["name"] for w in d["wards"]]
    assert res.wards[0].themes[0].id == d["wards"][0]["themes"][0]["id"]
    # a dict goes through the typed objects unchanged, keys they don't model included (kept in ``extra``)
    again = AssessmentResult.from_dict({**d, "plugin_block": {"x": 1}}).to_dict()
    assert not _diff({**d, "plugin_block": {"x": 1}}, again)
    # rows keep their identity first
    assert list(d["themes"][0])[:2] == ["id", "label"] and list(d["wards"][0])[:2] == ["code", "name"]
