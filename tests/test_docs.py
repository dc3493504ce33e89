"""Documentation tests: every CLI command appears with an example; README set-up commands are the real ones."""
from __future__ import annotations

import re
from pathlib import Path

import typer

from crimeassess.cli import app

REPO = Path(__file__).resolve().parents[1]


def _commands(cmd, prefix: str) -> list[str]:
    # typer may vendor click, so groups are recognised by having sub-commands
    if getattr(cmd, "commands", None):
        out = []
        for name, sub in cmd.commands.items():
            out += _commands(sub, f"{prefix} {name}")
        return out
    return [prefix]


def _docs_text() -> str:
    parts = [(REPO / "README.md").read_text()]
    parts += [p.read_text() for p in sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(parts)


def test_every_cli_command_has_an_example() -> None:
    commands = _commands(typer.main.get_command(app), "crimeassess")
    assert len(commands) >= 12
    text = _docs_text()
    missing = [c for c in commands if not re.search(rf"^\s*(\$ )?{re.escape(c)}(\s|$)", text, flags=re.M)]
    assert not missing, f"commands without an example line in README.md or docs/: {missing}"


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)

    def walk(cmd, name: str) -> None:
        assert (cmd.help or "").strip(), f"{name} has no help"
        if getattr(cmd, "commands", None):
            for sub_name, sub in cmd.commands.items():
                walk(sub, f"{name} {sub_name}")
        else:
            for p in cmd.params:
                if getattr(p, "param_type_name", "") == "option":
                    assert (p.help or "").strip(), f"{name} {p.opts} has no help"

    walk(root, "crimeassess")


def test_readme_setup_commands_and_ci() -> None:
    readme = (REPO / "README.md").read_text()
    head = readme[: readme.index("## ")]
    assert "pip install -e . && crimeassess demo" in head
    assert "bash scripts/test" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test" in ci
    assert "pytest" in (REPO / "scripts" / "test").read_text()
