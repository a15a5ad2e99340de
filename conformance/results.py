"""Reading what a conformance run left: the suite's requirement sets and its checks.json files.

`conformance server --requirements REV -o DIR` writes one folder per scenario,
DIR/server-<scenario>-<timestamp>/checks.json, a list of checks each with a
`status` of SUCCESS, FAILURE, WARNING, INFO or SKIPPED. run.sh keeps one such
DIR per fixture, target and revision: results/<fixture>/<target>/<revision>/.

Standard library only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

RESULT_DIR = re.compile(r"^server-(?P<name>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
# Checks that record traffic, not a verdict.
TRACE_IDS = {"outgoing-request", "incoming-response", "incoming-sse-event"}
# Worst first: the verdict of a check id that occurs more than once.
SEVERITY = ["FAILURE", "WARNING", "SUCCESS", "INFO", "SKIPPED"]


@dataclass
class Requirements:
    """A revision's requirement set: the scenarios it scores, and those it runs without scoring."""

    required: list[str]
    not_scored: dict[str, str]  # scenario -> reason


def read_requirements(folder: Path, revision: str) -> Requirements:
    """The server side of requirements/<revision>.yaml (a flat file: read without a YAML library)."""
    required: list[str] = []
    not_scored: dict[str, str] = {}
    section, entry = "", {}
    for line in (folder / f"{revision}.yaml").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            section = line.rstrip(":")
            continue
        item = re.match(r"^  - (?:scenario: )?(?P<value>\S+)$", line)
        key = re.match(r"^    (?P<key>leg|reason): (?P<value>\S+)$", line)
        if section == "server" and item:
            required.append(item["value"])
        elif section == "not_scored" and item:
            entry = {"scenario": item["value"]}
        elif section == "not_scored" and key:
            entry[key["key"]] = key["value"]
            if entry.get("leg") == "server" and "reason" in entry:
                not_scored[entry["scenario"]] = entry["reason"]
    return Requirements(required, not_scored)


@dataclass
class Scenario:
    name: str
    checks: dict[str, str] = field(default_factory=dict)  # check id -> worst status
    messages: dict[str, str] = field(default_factory=dict)  # check id -> first error message

    @property
    def passed(self) -> bool:
        return "FAILURE" not in self.checks.values()

    def failures(self) -> list[str]:
        return [f"{cid}: {self.messages.get(cid, '')}" for cid, s in self.checks.items() if s == "FAILURE"]


def read_run(folder: Path) -> dict[str, Scenario]:
    """Every scenario of one suite run, by name."""
    scenarios: dict[str, Scenario] = {}
    for checks_file in sorted(folder.glob("*/checks.json")):
        m = RESULT_DIR.match(checks_file.parent.name)
        if not m:
            continue
        sc = scenarios.setdefault(m["name"], Scenario(m["name"]))
        try:
            checks = json.loads(checks_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            sc.checks["checks.json"] = "FAILURE"
            sc.messages["checks.json"] = f"unreadable: {exc}"
            continue
        for check in checks:
            cid, status = check.get("id", "?"), check.get("status", "?")
            if cid in TRACE_IDS:
                continue
            previous = sc.checks.get(cid)
            rank = SEVERITY.index(status) if status in SEVERITY else 0
            if previous is None or rank < SEVERITY.index(previous):
                sc.checks[cid] = status if status in SEVERITY else "FAILURE"
            if status in ("FAILURE", "WARNING") and cid not in sc.messages:
                sc.messages[cid] = " ".join(str(check.get("errorMessage") or check.get("description", "")).split())
    return scenarios


def read_all(results: Path) -> dict[tuple[str, str, str], dict[str, Scenario]]:
    """Every run under results/, keyed by (fixture, target, revision)."""
    runs = {}
    for folder in sorted(results.glob("*/*/*")):
        if folder.is_dir():
            fixture, target, revision = folder.relative_to(results).parts
            runs[(fixture, target, revision)] = read_run(folder)
    return runs
