"""Seeded generation of the demo city's crimes and anti-social behaviour, with the planted stories.

Volumes are decided top-down so the stories hold exactly: a yearly total for each financial year, fixed
robbery / residential burglary / knife-flag counts, and (in the last year) a fixed count for the story
ward. Everything else (offence mix, places, dates, times, flags, outcomes) is drawn from seeded
distributions, vectorised with numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geography import CityGeography
from .offences import (
    DEPRIVATION_EXPONENT,
    DOMESTIC_LOCATION_MIX,
    DOW,
    EXTRACT_OUTCOMES,
    HOURS,
    LOCATION_MIX,
    LOCATION_TYPES,
    LT,
    OFFENCES,
    OUTCOME_GROUP,
    OUTCOME_INDEX,
    OUTCOME_MIX,
    RESIDENTIAL_BURGLARY_SPLIT,
    ROBBERY_SPLIT,
    SEASON_AMPLITUDE,
    TIME_PATTERN,
    UNDER_INVESTIGATION,
    CODE_INDEX,
    mix_vector,
)
from .points import PointPool

GROUPS = sorted({o.group for o in OFFENCES})
GROUP_INDEX = {g: i for i, g in enumerate(GROUPS)}
CODE_GROUP = np.array([GROUP_INDEX[o.group] for o in OFFENCES])
DOMESTIC_P = np.array([o.domestic for o in OFFENCES])
HATE_P = np.array([o.hate for o in OFFENCES])
KNIFE_W = np.array([o.knife for o in OFFENCES])
NTE_GROUPS = {GROUP_INDEX[g] for g in ("violence", "public_order", "sexual", "theft_person")}


@dataclass
class YearPlan:
    """The fixed volumes for one financial year."""

    fy: str  # '2023/24'
    start: np.datetime64  # 1 April
    end: np.datetime64  # 31 March (inclusive)
    total: int
    robbery: int
    residential_burglary: int
    knife: int
    asb: int


@dataclass
class Crimes:
    """One row per crime (all years), columns as numpy arrays."""

    code: np.ndarray  # index into OFFENCES
    year: np.ndarray  # index into plans
    lsoa: np.ndarray
    day: np.ndarray  # datetime64[D]
    minute: np.ndarray  # minutes after midnight, -1 when not recorded
    lt: np.ndarray  # index into LOCATION_TYPES
    domestic: np.ndarray
    hate: np.ndarray
    knife: np.ndarray
    outcome: np.ndarray  # index into EXTRACT_OUTCOMES
    puk_outcome: np.ndarray  # object array of police.uk outcome texts
    point: np.ndarray  # index into the point pool (address)
    no_location: np.ndarray  # police.uk row has 'No Location'


@dataclass
class Asb:
    """Anti-social behaviour incidents (police.uk only)."""

    day: np.ndarray
    lsoa: np.ndarray
    point: np.ndarray  # map point index (already snapped)
    no_location: np.ndarray


def fy_bounds(fy_start_year: int) -> tuple[np.datetime64, np.datetime64]:
    """First and last day of the financial year starting in April of fy_start_year."""
    return np.datetime64(f"{fy_start_year}-04-01"), np.datetime64(f"{fy_start_year + 1}-03-31")


def fy_label(fy_start_year: int) -> str:
    return f"{fy_start_year}/{(fy_start_year + 1) % 100:02d}"


def plan_years(rng: np.random.Generator, first_year: int, years: int) -> list[YearPlan]:
    """Yearly volumes: totals rising every year, robbery +3 in the last year, residential burglary -14%,
    knife crime +25%."""
    totals = [int(rng.integers(30800, 31800))]
    robbery = [0, int(rng.integers(255, 300))]
    burglary = [0, int(rng.integers(1050, 1160))]
    knife = [0, int(rng.integers(190, 216))]
    robbery[0] = robbery[1] + 3
    burglary[0] = int(round(burglary[1] * 0.86))
    knife[0] = int(round(knife[1] * 1.25))
    for _ in range(years - 1):
        totals.append(int(round(totals[-1] / rng.uniform(1.035, 1.05))))
    for _ in range(years - 2):
        robbery.append(int(round(robbery[-1] * rng.uniform(0.9, 1.1))))
        burglary.append(int(round(burglary[-1] * rng.uniform(1.01, 1.08))))
        knife.append(int(round(knife[-1] * rng.uniform(0.92, 1.04))))
    plans = []
    for i in range(years):
        back = years - 1 - i
        y = first_year + i
        start, end = fy_bounds(y)
        t = totals[back]
        plans.append(
            YearPlan(
                fy=fy_label(y), start=start, end=end, total=t, robbery=robbery[back],
                residential_burglary=burglary[back], knife=knife[back],
                asb=int(round(t * rng.uniform(0.16, 0.19))),
            )
        )
    return plans


def _location_weights(geo: CityGeography) -> np.ndarray:
    """(n_location_types, n_lsoa) relative weights of each LSOA as the place of a crime of that type."""
    pop = geo.population / geo.population.mean()
    hospital = np.ones(geo.n_lsoa)
    hospital[int(np.argmax(geo.population * (geo.nte < 3)))] = 25.0
    w = {
        "Dwelling": pop,
        "Street/road": pop * np.sqrt(geo.nte),
        "Licensed premises": 0.3 + geo.nte ** 1.6,
        "Shop/retail": geo.retail ** 1.3,
        "Supermarket": geo.retail ** 0.8 * pop,
        "Park/open space": geo.park * pop,
        "Car park": geo.retail ** 0.7 * pop,
        "Commercial premises": geo.retail * np.sqrt(pop),
        "Public transport": geo.nte ** 0.8 * pop,
        "Educational establishment": pop,
        "Health premises": pop * hospital,
        "Garage/shed": pop,
        "Other": pop,
    }
    return np.array([w[name] for name in LOCATION_TYPES])


def _season(days: np.ndarray, amplitude: float) -> np.ndarray:
    month = (days.astype("datetime64[M]").astype(int) % 12) + 1
    return 1 + amplitude * np.cos(2 * np.pi * (month - 7) / 12)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0


def _sample_days(
    rng: np.random.Generator, plan: YearPlan, n: int, amplitude: float, dow: list[float], growth: float
) -> np.ndarray:
    days = np.arange(plan.start, plan.end + np.timedelta64(1, "D"))
    ramp = 1 + growth * (np.arange(days.size) / days.size - 0.5)  # the yearly rise continues within the year
    p = _season(days, amplitude) * np.asarray(dow)[_weekday(days)] * ramp
    return days[rng.choice(days.size, size=n, p=p / p.sum())]


def _choose_exact(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices chosen with probability proportional to weights (all-zero weights excluded)."""
    cand = np.flatnonzero(weights > 0)
    if k > cand.size:
        raise ValueError(f"cannot choose {k} of {cand.size}")
    # Efraimidis–Spirakis weighted sampling without replacement: top-k of u^(1/w)
    keys = np.log(rng.uniform(size=cand.size)) / weights[cand]
    return cand[np.argsort(-keys, kind="stable")[:k]]


def generate_crimes(
    geo: CityGeography, pool: PointPool, plans: list[YearPlan], story_ward: int, ward_factor: float, seed: int
) -> Crimes:
    """Generate every crime of every planned year; the story ward's last-year count is previous × ward_factor."""
    rng = np.random.default_rng([seed, 3])
    n_codes = len(OFFENCES)
    base = np.array([o.per_1000 for o in OFFENCES])
    trend = np.array([o.trend for o in OFFENCES])
    locw = _location_weights(geo)
    dep_exp = np.array([DEPRIVATION_EXPONENT[g] for g in GROUPS])
    lt_mix = np.array([mix_vector(LOCATION_MIX[g], LT) for g in GROUPS])
    dom_mix = mix_vector(DOMESTIC_LOCATION_MIX, LT)
    out_mix = {g: mix_vector(OUTCOME_MIX[OUTCOME_GROUP[g]], OUTCOME_INDEX) for g in GROUPS}
    ward_mask = geo.lsoa_ward == story_ward
    data_end = plans[-1].end

    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("code", "year", "lsoa", "lt", "dom", "hate", "knife")}
    story_prev = 0
    for yi, plan in enumerate(plans):
        # 1. offence codes
        counts = np.zeros(n_codes, dtype=np.int64)
        rob = rng.multinomial(plan.robbery, list(ROBBERY_SPLIT.values()))
        for c, v in zip(ROBBERY_SPLIT, rob):
            counts[CODE_INDEX[c]] = v
        bur = rng.multinomial(plan.residential_burglary, list(RESIDENTIAL_BURGLARY_SPLIT.values()))
        for c, v in zip(RESIDENTIAL_BURGLARY_SPLIT, bur):
            counts[CODE_INDEX[c]] = v
        w = base * (1 + trend) ** yi
        counts += rng.multinomial(plan.total - plan.robbery - plan.residential_burglary, w / w.sum())
        code = np.repeat(np.arange(n_codes), counts)
        code = code[rng.permutation(code.size)]
        grp = CODE_GROUP[code]
        n = code.size
        # 2. domestic and hate flags, location type
        dom = rng.uniform(size=n) < DOMESTIC_P[code]
        hate = rng.uniform(size=n) < HATE_P[code]
        lt = np.empty(n, dtype=np.int64)
        for g in range(len(GROUPS)):
            sel = (grp == g) & ~dom
            lt[sel] = rng.choice(len(LT), size=int(sel.sum()), p=lt_mix[g])
        lt[dom] = rng.choice(len(LT), size=int(dom.sum()), p=dom_mix)
        # 3. LSOA, by (group, location type)
        lsoa = np.empty(n, dtype=np.int64)
        key = grp * len(LT) + lt
        lsoa_w = np.empty((len(GROUPS), len(LT), geo.n_lsoa))
        for g in range(len(GROUPS)):
            lsoa_w[g] = locw * geo.deprivation[None, :] ** dep_exp[g]
        for kv in np.unique(key):
            sel = np.flatnonzero(key == kv)
            p = lsoa_w[kv // len(LT), kv % len(LT)]
            lsoa[sel] = rng.choice(geo.n_lsoa, size=sel.size, p=p / p.sum())
        # 4. story ward: previous year counted as drawn; last year forced to previous × factor
        in_ward = ward_mask[lsoa]
        if yi == len(plans) - 2:
            story_prev = int(in_ward.sum())
        if yi == len(plans) - 1:
            target = int(round(story_prev * ward_factor))
            have = int(in_ward.sum())
            wk = lsoa_w[grp, lt]  # (n, n_lsoa) weights of each crime's pattern
            w_in = (wk * ward_mask).sum(axis=1) / wk.sum(axis=1)
            if have < target:
                move = _choose_exact(rng, np.where(in_ward, 0.0, w_in), target - have)
                for i in move:
                    p = wk[i] * ward_mask
                    lsoa[i] = rng.choice(geo.n_lsoa, p=p / p.sum())
            elif have > target:
                move = _choose_exact(rng, np.where(in_ward, 1 - w_in + 1e-9, 0.0), have - target)
                for i in move:
                    p = wk[i] * ~ward_mask
                    lsoa[i] = rng.choice(geo.n_lsoa, p=p / p.sum())
        # 5. knife flag: exactly plan.knife crimes among the selected offences
        kw = KNIFE_W[code] * np.where(np.isin(lt, [LT["Street/road"], LT["Park/open space"]]), 1.5, 1.0)
        knife = np.zeros(n, dtype=bool)
        knife[_choose_exact(rng, kw, plan.knife)] = True
        for k, v in (("code", code), ("lsoa", lsoa), ("lt", lt), ("dom", dom), ("hate", hate), ("knife", knife)):
            cols[k].append(v)
        cols["year"].append(np.full(n, yi))

    code = np.concatenate(cols["code"])
    year = np.concatenate(cols["year"])
    lsoa = np.concatenate(cols["lsoa"])
    lt = np.concatenate(cols["lt"])
    grp = CODE_GROUP[code]
    n = code.size
    # 6. dates and times: night-time-economy pattern for violence in licensed premises / busy centre streets
    nte_like = (lt == LT["Licensed premises"]) | (
        np.isin(grp, list(NTE_GROUPS)) & (lt == LT["Street/road"]) & (geo.nte[lsoa] > 6)
    )
    day = np.empty(n, dtype="datetime64[D]")
    minute = np.empty(n, dtype=np.int64)
    growth = np.array([0.0] + [p.total / q.total - 1 for q, p in zip(plans, plans[1:])])
    for yi, plan in enumerate(plans):
        for g, gname in enumerate(GROUPS):
            for nte_flag in (False, True):
                sel = np.flatnonzero((year == yi) & (grp == g) & (nte_like == nte_flag))
                if sel.size == 0:
                    continue
                dow = DOW["nte"] if nte_flag else (
                    DOW["violence"] if gname in ("violence", "public_order") else
                    DOW["shop"] if gname == "shoplifting" else DOW["flat"])
                g_rate = growth[yi + 1] if yi + 1 < len(plans) else growth[yi]
                day[sel] = _sample_days(rng, plan, sel.size, SEASON_AMPLITUDE[gname], dow, g_rate)
                hours = np.asarray(HOURS["nte" if nte_flag else TIME_PATTERN[gname]], dtype=float)
                minute[sel] = rng.choice(24, size=sel.size, p=hours / hours.sum()) * 60 + rng.integers(0, 60, sel.size)
    minute[rng.uniform(size=n) < 0.02] = -1

    # 7. outcomes: recent crimes are still under investigation
    age = (data_end - day).astype(np.int64)
    outcome = np.empty(n, dtype=np.int64)
    for g, gname in enumerate(GROUPS):
        sel = np.flatnonzero(grp == g)
        outcome[sel] = rng.choice(len(EXTRACT_OUTCOMES), size=sel.size, p=out_mix[gname])
    open_case = rng.uniform(size=n) < 0.75 * np.exp(-age / 45.0) + 0.02
    outcome[open_case] = UNDER_INVESTIGATION
    puk = np.empty(n, dtype=object)
    for oi, (_, choices) in enumerate(EXTRACT_OUTCOMES):
        sel = np.flatnonzero(outcome == oi)
        labels = [c for c, _ in choices]
        p = np.array([w for _, w in choices])
        puk[sel] = np.array(labels, dtype=object)[rng.choice(len(labels), size=sel.size, p=p / p.sum())]
    stale = (outcome != UNDER_INVESTIGATION) & (rng.uniform(size=n) < 0.04)
    puk[stale] = "Status update unavailable"

    # 8. address point inside the LSOA; a few crimes cannot be mapped on police.uk (never in the story ward)
    point = pool.start[lsoa] + (rng.uniform(size=n) * pool.count[lsoa]).astype(np.int64)
    no_loc = (rng.uniform(size=n) < 0.005) & ~ward_mask[lsoa]

    # chronological order within the whole set (extract ids follow it)
    order = np.lexsort((minute, day))
    return Crimes(
        code=code[order], year=year[order], lsoa=lsoa[order], day=day[order], minute=minute[order],
        lt=lt[order], domestic=np.concatenate(cols["dom"])[order], hate=np.concatenate(cols["hate"])[order],
        knife=np.concatenate(cols["knife"])[order], outcome=outcome[order], puk_outcome=puk[order],
        point=point[order], no_location=no_loc[order],
    )


def generate_asb(geo: CityGeography, pool: PointPool, plans: list[YearPlan], seed: int) -> Asb:
    """Anti-social behaviour incidents for every planned year (police.uk street files only)."""
    rng = np.random.default_rng([seed, 4])
    w = geo.population * geo.deprivation ** DEPRIVATION_EXPONENT["asb"] * np.sqrt(geo.nte) * np.sqrt(geo.park)
    days, lsoas = [], []
    for plan in plans:
        days.append(_sample_days(rng, plan, plan.asb, SEASON_AMPLITUDE["asb"], DOW["asb"], 0.0))
        lsoas.append(rng.choice(geo.n_lsoa, size=plan.asb, p=w / w.sum()))
    day = np.concatenate(days)
    lsoa = np.concatenate(lsoas)
    addr = pool.start[lsoa] + (rng.uniform(size=lsoa.size) * pool.count[lsoa]).astype(np.int64)
    return Asb(day=day, lsoa=lsoa, point=pool.snap[addr], no_location=rng.uniform(size=lsoa.size) < 0.01)
