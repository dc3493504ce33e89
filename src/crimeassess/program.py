"""The ``crimeassess`` program's entry point (``[project.scripts]``).

It is this small so that a one-area ``assess`` or ``report`` can fork its fit worker before importing anything
else (``fitworker.start_early``): the worker then imports the statistics libraries on the other core while this
process imports the CLI (Typer, Rich, pyarrow, DuckDB: 0.3-0.5 s) and reads the store, about half a second
sooner than a fork made inside the command. Every other command, and ``--all-areas``, goes
straight to :func:`crimeassess.cli.main`.
"""
from __future__ import annotations

import sys

#: Commands whose one-area form fits models (they call ``fitworker.start_early`` themselves too).
EARLY_COMMANDS = frozenset({"assess", "report"})


def forks_early(argv: list[str]) -> bool:
    """Whether these arguments run a one-area ``assess`` or ``report`` (not ``--all-areas``, not ``--help``)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    return (command in EARLY_COMMANDS and "--all-areas" not in argv
            and not any(a in ("--help", "-h") for a in argv))


def main() -> None:
    """Run the ``crimeassess`` program (see the module's docstring)."""
    from .assess import fitworker

    fitworker.command_process()
    if forks_early(sys.argv[1:]):
        fitworker.start_early()
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
