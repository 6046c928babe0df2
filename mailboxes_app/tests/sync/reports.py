"""The bounce, complaint and auto-reply fixtures and what each is (fixtures/reports.tsv)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).parent.parent / "fixtures" / "reports.tsv"


@dataclass(frozen=True)
class Report:
    file: str
    family: str
    kind: str
    hard: bool
    code: str


def _read() -> list[Report]:
    with TABLE.open(encoding="utf-8") as table:
        rows = csv.DictReader((line for line in table if not line.startswith("#")), delimiter="\t")
        return [Report(r["file"], r["family"], r["kind"], r["hard"] == "yes", r["code"]) for r in rows]


REPORTS = _read()
