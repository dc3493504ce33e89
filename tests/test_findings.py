"""Golden wording tests for plain-English findings and the number/word helpers."""
from __future__ import annotations

import pytest

from crimeassess.assess.findings import CAVEATS, findings
from crimeassess.assess.wording import format_int, format_pct, join_and, ordinal_word, plural
from crimeassess.errors import InputError

M = "\u2212"  # the Unicode minus sign prose must use


# ------------------------------------------------------------------------------------------ helpers


def test_format_int():
    assert format_int(31589) == "31,589"
    assert format_int(-145) == M + "145"
    assert format_int(167, signed=True) == "+167"
    assert format_int(0, signed=True) == "0"
    assert format_int(1234567) == "1,234,567"
    assert format_int(None) == "\u2013"  # the one blank mark
    with pytest.raises(InputError):
        format_int("12")


def test_format_pct():
    assert format_pct(8.94) == "8.9%"
    assert format_pct(-5.9) == M + "5.9%"
    assert format_pct(16, signed=True) == "+16.0%"
    assert format_pct(-14.06, signed=True) == M + "14.1%"
    assert format_pct(-0.04, signed=True) == "0.0%"
    assert format_pct(1234.5) == "1,234.5%"
    assert format_pct(None) == "\u2013"
    with pytest.raises(InputError):
        format_pct(float("inf"))


@pytest.mark.parametrize(
    "n,word",
    [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (10, "tenth"), (11, "11th"), (12, "12th"),
     (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (101, "101st"), (111, "111th"), (1002, "1,002nd")],
)
def test_ordinal_word(n, word):
    assert ordinal_word(n) == word


def test_ordinal_word_rejects_zero():
    with pytest.raises(InputError):
        ordinal_word(0)


def test_plural_and_join():
    assert plural(1, "ward") == "1 ward"
    assert plural(16, "ward") == "16 wards"
    assert plural(1, "crime") == "1 crime"
    assert plural(1044, "crime") == "1,044 crimes"
    assert plural(0, "crime") == "0 crimes"
    assert plural(2, "property") == "2 properties"
    assert plural(3, "day") == "3 days"
    assert plural(2, "incident of anti-social behaviour", "incidents of anti-social behaviour") == \
        "2 incidents of anti-social behaviour"
    assert join_and([]) == "" and join_and(["A"]) == "A"
    assert join_and(["A", "B"]) == "A and B"
    assert join_and(["A", "B", "C"]) == "A, B and C"


# ------------------------------------------------------------------------------------------ fixtures


def row(label, previous, current, significant=None, small=False, z=None, **extra):
    """A table row carrying its own statistics (so wording tests do not depend on the p-values)."""
    change = None if previous is None or current is None else current - previous
    pct = None if change is None or not previous else round(100 * change / previous, 1)
    out = {"label": label, "name": label, "current": current, "previous": previous, "change": change,
           "pct_change": pct, "significant": significant, "small_numbers": small,
           "z": z if z is not None else (0.0 if change is None else change / 10)}
    if significant is None:
        out["significant"] = change is not None
    out.update(extra)
    return out


def base(**over):
    a = {
        "area": {"code": "E06000045", "name": "Southampton", "level": "lad"},
        "period": {"label": "2017/18", "start": "2017-04", "end": "2018-03", "kind": "fy"},
        "compare": {"label": "2016/17", "start": "2016-04", "end": "2017-03", "kind": "fy"},
        "coverage": {"months_expected": 12, "current_months": 12, "previous_months": 12, "complete": True,
                     "missing_current": [], "missing_previous": []},
    }
    a.update(over)
    return a


def total(previous, current, significant=True, small=False, run=None, **extra):
    t = row("total", previous, current, significant, small, **extra)
    if run is not None:
        t["run"] = {"direction": run[0], "length": run[1]}
    return t


# ------------------------------------------------------------------------------------------ coverage


def test_coverage_incomplete_is_first_and_precise():
    a = base(total=total(29000, 31589, run=("rise", 4)))
    a["coverage"] = {"months_expected": 12, "current_months": 10, "previous_months": 12, "complete": False,
                     "missing_current": ["2017-10", "2017-11"], "missing_previous": []}
    out = findings(a)
    assert out[0] == "Coverage is incomplete: the store holds 10 of the 12 months of 2017/18 (missing October–November 2017)."
    # no like-for-like basis given: no change is claimed and no run
    assert out[1] == "No month is held for both periods, so no change is given."
    assert out[2] == ("31,589 crimes were recorded in Southampton in the 10 months of 2017/18 held so far "
                      "(April–September 2017 and December 2017–March 2018); no months are held for both periods, "
                      "so no change is given.")


def test_coverage_both_periods_short_with_month_range():
    a = base()
    a["coverage"] = {"months_expected": 12, "current_months": 9, "previous_months": 11, "complete": False,
                     "missing_current": ["2018-03", "2018-01", "2018-02"], "missing_previous": ["2016-05"]}
    a["coverage"].update(basis="matched_months", matched_months=[f"2017-{m:02d}" for m in (4, *range(6, 13))],
                         matched_previous_months=[f"2016-{m:02d}" for m in (4, *range(6, 13))])
    assert findings(a) == [
        "Coverage is incomplete: the store holds 9 of the 12 months of 2017/18 (missing January–March 2018) "
        "and 11 of the 12 months of 2016/17 (missing May 2016).",
        "Changes below compare only the months held for both years: April and June–December.",
    ]


def test_coverage_previous_only_singular_and_equal():
    a = base()
    a["coverage"] = {"months_expected": 12, "current_months": 12, "previous_months": 1, "complete": False,
                     "missing_current": [], "missing_previous": []}
    assert findings(a) == ["Coverage is incomplete: the store holds 1 of the 12 months of 2016/17."]
    a["coverage"].update(current_months=11, previous_months=11, missing_current=["2017-06"],
                         missing_previous=["2016-06"], basis="matched_months",
                         matched_months=[m for m in (f"2017-{i:02d}" for i in range(4, 13)) if m != "2017-06"]
                         + ["2018-01", "2018-02", "2018-03"],
                         matched_previous_months=[m for m in (f"2016-{i:02d}" for i in range(4, 13)) if m != "2016-06"]
                         + ["2017-01", "2017-02", "2017-03"])
    assert findings(a) == [
        "Coverage is incomplete: the store holds 11 of the 12 months of 2017/18 (missing June 2017) and 11 of the "
        "12 months of 2016/17 (missing June 2016).",
        "Changes below compare only the months held for both years: April–May and July–March.",
    ]


def test_complete_coverage_says_nothing():
    assert findings(base()) == []


# ------------------------------------------------------------------------------------------ total


def test_total_with_run_golden():
    a = base(total=total(29000, 31589, run=("rise", 4)))
    # the run leads, as in a newspaper's headline
    assert findings(a) == ["31,589 crimes were recorded in Southampton in 2017/18, the fourth consecutive annual "
                           "rise; up 8.9% on 2016/17 (29,000), a statistically significant change."]
    # ... even when the latest change is small
    a = base(total=total(31300, 31589, significant=False, run=("rise", 4)))
    assert findings(a) == ["31,589 crimes were recorded in Southampton in 2017/18, the fourth consecutive annual "
                           "rise; broadly unchanged from 2016/17 (31,300, +0.9%)."]


def test_total_run_from_series_and_period_nouns():
    series = [{"label": str(y), "start": f"{y}-01", "end": f"{y}-12", "count": c, "complete": True}
              for y, c in zip(range(2010, 2016), [900, 800, 700, 600, 500, 400])]
    a = base(total=total(500, 400, series=series))
    a["period"] = {"label": "2015", "kind": "year"}
    a["compare"] = {"label": "2014", "kind": "year"}
    assert findings(a) == ["400 crimes were recorded in Southampton in 2015, the fifth consecutive annual fall; "
                           "down 20.0% on 2014 (500), a statistically significant change."]
    a["period"]["kind"] = "quarter"
    assert "2015, the fifth consecutive quarterly fall;" in findings(a)[0]
    a["period"]["kind"] = "month"
    assert "2015, the fifth consecutive monthly fall;" in findings(a)[0]
    a["period"]["kind"] = "custom"
    assert "2015, the fifth consecutive fall;" in findings(a)[0]
    a["total"]["run"] = {"direction": "fall", "length": 11}
    assert "2015, the 11th consecutive fall;" in findings(a)[0]


def test_total_run_of_one_or_wrong_direction_is_not_mentioned():
    assert findings(base(total=total(29000, 31589, run=("rise", 1)))) == [
        "31,589 crimes were recorded in Southampton in 2017/18; up 8.9% on 2016/17 (29,000), a statistically "
        "significant change."]
    assert "consecutive" not in findings(base(total=total(29000, 31589, run=("fall", 3))))[0]


def test_total_variants():
    assert findings(base(total=total(31460, 31589, significant=False))) == [
        "31,589 crimes were recorded in Southampton in 2017/18; broadly unchanged from 2016/17 (31,460, +0.4%)."]
    assert findings(base(total=total(1030, 885, significant=True))) == [
        "885 crimes were recorded in Southampton in 2017/18; down 14.1% on 2016/17 (1,030), a statistically "
        "significant change."]
    assert findings(base(total=total(100, 110, significant=False, run=("rise", 2)))) == [
        "110 crimes were recorded in Southampton in 2017/18, the second consecutive annual rise; up 10.0% on "
        "2016/17 (100), within the range normal variation produces."]
    assert findings(base(total=total(3, 1, small=True, significant=False))) == [
        "1 crime was recorded in Southampton in 2017/18; 3 in 2016/17, too few to judge a change."]
    assert findings(base(total=total(0, 40))) == [
        "40 crimes were recorded in Southampton in 2017/18, up from none in 2016/17."]
    assert findings(base(total=total(500, 500, significant=False))) == [
        "500 crimes were recorded in Southampton in 2017/18, the same as in 2016/17."]
    assert findings(base(total=total(None, 500))) == [
        "500 crimes were recorded in Southampton in 2017/18; no figure for 2016/17 is available for comparison."]
    assert findings(base(total=total(None, 500), compare=None)) == [
        "500 crimes were recorded in Southampton in 2017/18; no comparison period is available."]
    assert findings(base(total=total(400, None))) == [
        "The number of crimes recorded in Southampton in 2017/18 is not available."]


# ------------------------------------------------------------------------------------------ themes


def theme(tid, label, previous, current, significant=True, **kw):
    kw = {"available": True, "caveat": None, **kw}
    return row(label, previous, current, significant, id=tid, **kw)


def test_theme_headline_rises_and_falls_golden():
    a = base(themes=[
        theme("burglary", "Burglary", 1030, 885, z=-4.6),
        theme("knife_crime", "Serious knife crime", 194, 250, z=3.7),
    ])
    assert findings(a) == ["Serious knife crime rose 28.9% (194 to 250).", "Burglary fell 14.1% (1,030 to 885)."]


def test_theme_run_zero_base_and_cap():
    themes = [
        theme("t1", "Vehicle crime", 1000, 1300, z=9.0, run={"direction": "rise", "length": 3}),
        theme("t2", "Robbery", 200, 260, z=4.0),
        theme("t3", "Shoplifting", 1500, 1700, z=5.0),
        theme("t4", "Drugs", 300, 360, z=3.3),
        theme("t5", "Arson", 0, 30, z=11.0),
        theme("t6", "Bicycle theft", 400, 300, z=-5.3),
    ]
    assert findings(base(themes=themes)) == [
        "Arson rose from 0 to 30.",
        "Vehicle crime rose 30.0% (1,000 to 1,300), the third consecutive annual rise.",
        "Shoplifting rose 13.3% (1,500 to 1,700).",
        "Robbery (up 30.0%, 200 to 260) and drugs (up 20.0%, 300 to 360) also rose significantly.",
        "Bicycle theft fell 25.0% (400 to 300).",
    ]


def test_non_significant_unchanged_small_and_unavailable_worded_honestly():
    themes = [
        theme("robbery", "Robbery", 120, 125, significant=False, z=0.45),
        theme("drugs", "Drugs", 600, 602, significant=False, z=0.08),
        theme("slavery", "Modern slavery", 3, 5, significant=False, small=True),
        theme("hate_crime_flag", "Hate crime (flagged)", None, None, available=False),
    ]
    assert findings(base(themes=themes)) == [
        "Robbery rose 4.2% (120 to 125), within the range normal variation produces.",
        "Drugs was broadly unchanged (600 to 602).",
        "Modern slavery had too few crimes to judge a change (3 to 5).",
        "Hate crime (flagged) cannot be measured from these data.",
    ]


def test_lists_of_non_significant_themes():
    themes = [
        theme("a", "Robbery", 120, 125, significant=False, z=0.45),
        theme("b", "Bicycle theft", 300, 282, significant=False, z=-1.05),
        theme("c", "Arson", 0, 4, significant=False, small=True),
        theme("d", "Weapons", 2, 0, significant=False, small=True),
        theme("e", "Drugs", 600, 602, significant=False, z=0.08),
        theme("f", "Shoplifting", 900, 900, significant=False, z=0.0),
        theme("g", "Hate crime", None, None, available=False),
        theme("h", "Domestic abuse", None, None, available=False),
    ]
    assert findings(base(themes=themes)) == [
        "Bicycle theft (down 6.0%, 300 to 282) and robbery (up 4.2%, 120 to 125) changed within the range "
        "normal variation produces.",
        "Drugs (600 to 602) and shoplifting (900 to 900) were broadly unchanged.",
        "Arson (0 to 4) and weapons (2 to 0) had too few crimes to judge a change.",
        "Hate crime and domestic abuse cannot be measured from these data.",
    ]


def test_long_lists_are_capped():
    themes = [theme(f"t{i}", f"Theme {i}", 1000, 1010 + i, significant=False, z=0.3) for i in range(7)]
    assert findings(base(themes=themes)) == [
        "Theme 0 (1,000 to 1,010), theme 1 (1,000 to 1,011), theme 2 (1,000 to 1,012), theme 3 (1,000 to "
        "1,013), theme 4 (1,000 to 1,014) and 2 other themes were broadly unchanged."
    ]


def test_theme_without_comparison():
    a = base(themes=[theme("a", "Robbery", None, 125)])
    assert findings(a) == ["No comparison with 2016/17 is available for robbery (125 in 2017/18)."]


def test_categories_used_when_no_themes_and_caveat_by_id():
    cats = [row("Public order", 800, 1000, True, id="public-order", z=6.7),
            row("Burglary", 1030, 885, True, id="burglary", z=-4.6)]
    assert findings(base(categories=cats, themes=[])) == [
        "Public order rose 25.0% (800 to 1,000).",
        "Burglary fell 14.1% (1,030 to 885).",
        CAVEATS["public_order"],
    ]


# ------------------------------------------------------------------------------------------ caveats


def test_caveats_from_ids_and_rows():
    themes = [
        theme("hate_crime", "Hate crime", 330, 400, z=3.6),
        theme("knife_crime", "Serious knife crime", 194, 250, z=3.7,
              caveat="knife crime figures exclude Greater Manchester"),
        theme("rape", "Rape", None, None, available=False),  # not described, so no caveat
    ]
    out = findings(base(themes=themes))
    assert out == [
        "Serious knife crime rose 28.9% (194 to 250).",
        "Hate crime rose 21.2% (330 to 400).",
        # caveats follow the order of the themes table
        "Increases in police-recorded hate crime partly reflect improvements in recording and more victims "
        "coming forward; ONS advises against reading them as a rise in hate crime.",
        "Knife crime figures exclude Greater Manchester.",
        "Rape cannot be measured from these data.",
    ]
    assert set(CAVEATS) == {"hate_crime", "sexual_offences", "rape", "domestic_abuse",
                            "violence_without_injury", "public_order"}
    assert all("ONS" in text and text.endswith(".") for text in CAVEATS.values())


# ------------------------------------------------------------------------------------------ wards


def ward(name, previous, current, significant=False, **kw):
    return row(name, previous, current, significant, code=f"W-{name}", **kw)


SPEC_WARDS = [
    ward("Coxford", 1044, 1211, True), ward("Bargate", 2000, 2150, True), ward("Sholing", 500, 520),
    ward("Woolston", 600, 640), ward("Harefield", 700, 720), ward("Redbridge", 800, 850),
    ward("Swaythling", 650, 660), ward("Bevois", 1200, 1300), ward("St Luke's", 100, 130),
    ward("Bitterne", 1020, 960), ward("Shirley", 1000, 990), ward("Bassett", 800, 780),
    ward("Portswood", 1500, 1450), ward("Freemantle", 900, 880), ward("Millbrook", 700, 690),
    ward("Peartree", 600, 590),
]


def test_wards_golden_spec_example():
    assert findings(base(wards=SPEC_WARDS)) == [
        f"Crime fell in 7 of 16 wards, most in Bitterne ({M}5.9%); the largest rise in number was in Coxford (+167, +16.0%).",
        "The change was statistically significant in 2 of 16 wards (2 rises): Coxford (+16.0%) and Bargate (+7.5%).",
    ]


def test_wards_all_up_all_down_none_changed():
    up = [ward("A", 100, 150), ward("B", 200, 210, True), ward("C", 10, 40)]
    assert findings(base(wards=up)) == [
        "Crime rose in all 3 wards; the largest rise in number was in A (+50, +50.0%).",
        "The change was statistically significant in 1 of 3 wards (1 rise): B (+5.0%).",
    ]
    down = [ward("A", 150, 100, True), ward("B", 210, 200, True), ward("C", 40, 10, True)]
    assert findings(base(wards=down)) == [
        f"Crime fell in all 3 wards, most in C ({M}75.0%).",
        f"The change was statistically significant in 3 of 3 wards (3 falls): C ({M}75.0%), A ({M}33.3%) and B ({M}4.8%).",
    ]
    same = [ward("A", 150, 150), ward("B", 210, 210)]
    assert findings(base(wards=same)) == ["Crime was unchanged in all 2 wards.",
                                          "No ward's change was outside the range normal variation produces."]


def test_wards_with_unchanged_single_fall_and_missing():
    wards = [ward("A", 100, 150), ward("B", 200, 190), ward("C", 50, 50), ward("D", None, None),
             ward("E", 0, 20)]
    assert findings(base(wards=wards)) == [
        f"Crime fell in 1 of 4 wards, B ({M}5.0%), and was unchanged in 1; the largest rise in number was in A (+50, +50.0%).",
        "No ward's change was outside the range normal variation produces.",
        "Figures for 1 ward are not available.",
    ]
    no_falls = [ward("A", 100, 150), ward("C", 50, 50)]
    assert findings(base(wards=no_falls))[0] == \
        "Crime rose in 1 of 2 wards and was unchanged in 1; the largest rise in number was in A (+50, +50.0%)."
    no_rises = [ward("A", 150, 100), ward("B", 90, 80), ward("C", 50, 50)]
    assert findings(base(wards=no_rises))[0] == \
        f"Crime fell in 2 of 3 wards, most in A ({M}33.3%), and was unchanged in 1."
    assert findings(base(wards=[ward("Bitterne", 1020, 960)])) == [f"Crime fell in Bitterne ({M}5.9%)."]
    assert findings(base(wards=[ward("A", 0, 12), ward("B", 5, 4)]))[0] == \
        f"Crime fell in 1 of 2 wards, B ({M}20.0%); the largest rise in number was in A (+12, from 0)."


def test_wards_summary_fallback():
    a = base(wards=[], wards_summary={"up": 9, "down": 7, "unchanged": 0, "total": 16})
    assert findings(a) == ["Crime fell in 7 of 16 wards and rose in 9."]


# ------------------------------------------------------------------------------------------ ASB and order


def test_anti_social_behaviour_separately():
    asb = row("asb", 5600, 5000, True)
    assert findings(base(anti_social_behaviour=asb)) == [
        "5,000 incidents of anti-social behaviour were recorded in 2017/18 (not counted as crime); "
        "down 10.7% on 2016/17 (5,600), a statistically significant change."]
    assert findings(base(anti_social_behaviour=row("asb", 1, 1, False, small=True))) == [
        "1 incident of anti-social behaviour was recorded in 2017/18 (not counted as crime); 1 in "
        "2016/17, too few to judge a change."]


def test_full_order():
    a = base(
        total=total(29000, 31589, run=("rise", 4)),
        themes=[theme("hate_crime", "Hate crime", 330, 400, z=3.6),
                theme("domestic_abuse", "Domestic abuse", None, None, available=False)],
        wards=SPEC_WARDS[:2],
        anti_social_behaviour=row("asb", 5600, 5000, True),
    )
    a["coverage"].update(complete=False, current_months=11, missing_current=["2018-03"], basis="matched_months",
                         matched_months=[f"2017-{m:02d}" for m in range(4, 13)] + ["2018-01", "2018-02"],
                         matched_previous_months=[f"2016-{m:02d}" for m in range(4, 13)] + ["2017-01", "2017-02"])
    out = findings(a)
    assert [s.split(" ")[0] for s in out] == ["Coverage", "Changes", "31,589", "Hate", "In", "The", "Increases",
                                              "5,000", "Domestic"]


# ------------------------------------------------------------------------------------------ robustness


def test_missing_and_none_sections_never_crash():
    assert findings({}) == []
    a = {"area": None, "period": None, "compare": None, "coverage": None, "total": None, "themes": None,
         "categories": None, "wards": None, "wards_summary": None, "anti_social_behaviour": None}
    assert findings(a) == []
    a["total"] = {"current": 10, "previous": None, "run": None, "series": None}
    a["wards"] = [{"name": "X", "current": None, "previous": None}]
    a["themes"] = [{"id": "x", "label": "X", "available": True, "current": None, "previous": None}]
    assert findings(a) == [
        "10 crimes were recorded in the area in the current period; no comparison period is available.",
        "Ward figures are not available for comparison.",
        "X cannot be measured from these data.",
    ]


def test_statistics_computed_when_rows_lack_them():
    a = base(themes=[{"id": "knife_crime", "label": "Serious knife crime", "current": 250, "previous": 194},
                     {"id": "robbery", "label": "Robbery", "current": 125, "previous": 120}],
             total={"current": 31589, "previous": 29000})
    assert findings(a) == [
        "31,589 crimes were recorded in Southampton in 2017/18; up 8.9% on 2016/17 (29,000), a statistically "
        "significant change.",
        "Serious knife crime rose 28.9% (194 to 250).",
        "Robbery rose 4.2% (120 to 125), within the range normal variation produces.",
    ]


@pytest.mark.parametrize(
    "bad",
    ["not a dict", {"themes": "burglary"}, {"themes": [{"label": "X", "current": "lots", "previous": 3}]},
     {"total": {"current": 5, "previous": 3, "run": {"direction": "up", "length": 2}}}],
)
def test_bad_input_raises_named_error(bad):
    with pytest.raises(InputError):
        findings(bad)


def test_caveats_only_where_a_change_is_reported():
    themes = [
        theme("violence_without_injury", "Violence without injury", 3902, 4083, False),  # not significant: no caveat
        theme("hate_crime", "Hate crime", 100, 110, False),  # recording-driven apparent rise: caveat even so
        theme("sexual_offences", "Sexual offences", 110, 100, False),  # a fall: no recording caveat
    ]
    out = findings(base(themes=themes))
    assert CAVEATS["hate_crime"] in out
    assert CAVEATS["violence_without_injury"] not in out
    assert CAVEATS["sexual_offences"] not in out


def test_comparison_with_fewer_months_of_its_own_is_complete():
    """A week spanning two months against one spanning one: both complete, no coverage warning."""
    cov = {"months_expected": 2, "current_months": 2, "previous_months": 1, "previous_months_expected": 1,
           "complete": True, "missing_current": [], "missing_previous": []}
    assert findings(base(coverage=cov)) == []
    cov_short = dict(cov, previous_months=0, previous_months_expected=1, complete=False, missing_previous=["2023-10"])
    out = findings(base(coverage=cov_short))
    assert out[0].startswith("Coverage is incomplete: the store holds no month of 2016/17.")


def test_many_further_significant_changes_are_named_only():
    """Beyond the headlines, up to three further significant rises carry their numbers; more are named only."""
    themes = [theme(f"t{i}", f"Theme {i}", 1000, 1200 + 10 * i, z=5.0 + i) for i in range(7)]
    out = findings(base(themes=themes))
    extra = next(f for f in out if "also rose significantly" in f)
    assert extra == "Theme 3, theme 2, theme 1 and theme 0 also rose significantly."
