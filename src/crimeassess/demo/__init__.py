"""The seeded synthetic demo city: input files in real formats plus the stories a report should find.

``generate_city(out_dir, seed=...)`` writes the whole city; ``generate_street_csv(path, n_rows)`` writes a
quick police.uk street file of any size for tests and benchmarks. See docs/demo-city.md.
"""
from __future__ import annotations

from .generate import FORCE_NAME, DemoCity, generate_city, parse_fy
from .geography import CSP_CODE, LAD_CODE, LAD_NAME, PFA_CODE, PFA_NAME
from .run import DemoResult, DemoStore, build_demo_store, run_demo
from .street import generate_street_csv

__all__ = [
    "DemoCity", "generate_city", "generate_street_csv", "parse_fy", "FORCE_NAME", "LAD_CODE", "LAD_NAME",
    "CSP_CODE", "PFA_CODE", "PFA_NAME", "DemoResult", "DemoStore", "build_demo_store", "run_demo",
]
