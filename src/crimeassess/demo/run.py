"""`crimeassess demo`: generate the demo city, load it into a fresh store and write the full report."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assess.harm import load_harm_weights
from ..errors import InputError
from ..geography.load import load_geography
from ..ingest import ingest
from ..report.build import STAGES as REPORT_STAGES
from ..report.build import build_report
from ..schema import force_slug
from ..store import Store
from .generate import DemoCity, generate_city

StepFn = Callable[[str], None]
#: ``progress(done, total, stage)``, as for ingest and build_report.
ProgressFn = Callable[[int, int, str], None]
STAGES = ("generating the demo city", "loading geography and population", "ingesting the force extract",
          "ingesting police.uk street files")


@dataclass
class DemoStore:
    """A store loaded with the demo city, and the area and period its report is about."""

    store: Store
    city: DemoCity
    area: str
    period: str


@dataclass
class DemoResult:
    """Where `crimeassess demo` put everything."""

    out_dir: Path
    store: Path
    report_dir: Path
    area: str
    period: str
    files: dict[str, Path] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    stories: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "store": str(self.store), "report_dir": str(self.report_dir),
                "area": self.area, "period": self.period,
                "files": {k: str(v) for k, v in self.files.items()}, "findings": self.findings}


def build_demo_store(out_dir: str | Path, *, seed: int = 2018, step: StepFn | None = None) -> DemoStore:
    """Generate the city under out_dir/data and ingest it, with its geography and population, into out_dir/store.

    ``step(stage)`` is told each stage of :data:`STAGES` as it starts."""
    out = Path(out_dir)
    say = step or (lambda s: None)
    say("generating the demo city")
    city = generate_city(out / "data", seed=seed, overwrite=True)
    store_path = out / "store"
    if store_path.exists():
        shutil.rmtree(store_path)  # a demo store is always fresh
    st = Store(store_path)
    say("loading geography and population")
    load_geography([city.lsoa_ward_lookup, city.lad_csp_pfa_lookup, city.wards_geojson, city.lsoa_geojson,
                    city.population_csv], st)
    load_harm_weights(city.harm_weights_csv, st, scheme="custom", name="demo")
    say("ingesting the force extract")
    ingest(city.extract_files, st, force=force_slug(city.force_name))
    say("ingesting police.uk street files")
    ingest([city.root / "police-uk"], st)
    return DemoStore(st, city, city.lad_name, city.current_fy)


def run_demo(out_dir: str | Path | None = None, *, seed: int = 2018, pdf: bool = True,
             step: StepFn | None = None, progress: ProgressFn | None = None) -> DemoResult:
    """Build the demo store and write the strategic assessment report for the demo city's latest year.

    ``step(stage)`` and ``progress(done, total, stage)`` are told each stage (the demo's, then the report's)."""
    out = Path(out_dir) if out_dir else Path("crimeassess-demo")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    total = len(STAGES) + len(REPORT_STAGES) - (0 if pdf else 1)

    def say(stage: str) -> None:
        if step:
            step(stage)
        if progress:
            progress(STAGES.index(stage), total, stage)

    def report_progress(done: int, _total: int, stage: str) -> None:
        if step and done < _total:
            step(stage)
        if progress:
            progress(len(STAGES) + done, total, stage)

    ds = build_demo_store(out, seed=seed, step=say)
    rep = build_report(ds.area, ds.period, out / "report", ds.store, pdf=pdf, progress=report_progress,
                       themes=[ds.city.themes_file] if ds.city.themes_file else None)
    return DemoResult(out, ds.store.path, out / "report", ds.area, ds.period, rep.files, rep.assessment.get("findings", []), ds.city.stories)
