#!/usr/bin/env python3
"""Compare each fixture's conformance run through the gateway with its run directly, write the
Markdown summary (conformance/out/RESULTS.md), and decide run.sh's exit status.

A gateway run is worse than the direct one when, in a scenario the revision requires, a check that was
not a FAILURE directly is a FAILURE through the gateway (a check absent directly counts only if the
scenario passed directly), or a scenario that ran directly left no result. Each such regression fails
the run unless conformance/expected-failures.txt lists it as `fixture revision scenario[:check]  # why`.
The same comparison is shown for the scenarios a revision runs without scoring; those never fail it.

The last line printed is `conformance: N regressions (M listed as expected)`. Standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from dataclasses import dataclass
from pathlib import Path

from results import Requirements, Scenario, read_all, read_requirements

DIRECT = "direct"
# How good a check's status is, to tell worse from better.
RANK = {"FAILURE": 0, "WARNING": 1, "INFO": 2, "SKIPPED": 2, "absent": 2, "SUCCESS": 3}


@dataclass
class Change:
    fixture: str
    target: str
    revision: str
    scenario: str
    check: str
    direct: str
    gateway: str

    def key(self) -> tuple[str, str, str]:
        return (self.fixture, self.revision, self.scenario)


def changes(direct: dict[str, Scenario], gateway: dict[str, Scenario], where: tuple[str, str, str]) -> list[Change]:
    """Every check whose status differs between the two runs, scenario by scenario."""
    found = []
    for name in sorted(set(direct) | set(gateway)):
        d, g = direct.get(name), gateway.get(name)
        if d is not None and g is None:
            found.append(Change(*where, name, "(no result)", "ran", "absent"))
            continue
        d_checks = d.checks if d else {}
        for cid in sorted(set(d_checks) | set(g.checks)):
            before, after = d_checks.get(cid, "absent"), g.checks.get(cid, "absent")
            if before != after:
                found.append(Change(*where, name, cid, before, after))
    return found


def is_regression(change: Change, direct: dict[str, Scenario]) -> bool:
    if change.gateway == "absent" and change.check == "(no result)":
        return True
    if change.gateway != "FAILURE" or change.direct == "FAILURE":
        return False
    return change.direct != "absent" or (change.scenario in direct and direct[change.scenario].passed)


def read_expected(path: Path) -> dict[str, str]:
    expected = {}
    if path.exists():
        for line in path.read_text().splitlines():
            body, _, reason = line.partition("#")
            if body.split():
                expected[" ".join(body.split())] = reason.strip()
    return expected


def read_shortfalls(path: Path) -> list[tuple[str, str, str, str]]:
    """`fixture revision scenario[:check]  # whose: why` lines (each word a glob): why a required scenario
    fails, or a check comes out worse through the gateway."""
    notes = []
    if path.exists():
        for line in path.read_text().splitlines():
            body, _, why = line.partition("#")
            words = body.split()
            if len(words) == 3:
                notes.append((*words, why.strip()))
    return notes


def listed(change: Change, expected: dict[str, str]) -> bool:
    base = f"{change.fixture} {change.revision} {change.scenario}"
    return base in expected or f"{base}:{change.check}" in expected


def cell(text: str, limit: int = 220) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score(run: dict[str, Scenario] | None, names: list[str]) -> str:
    if run is None:
        return "—"
    passed = sum(1 for n in names if n in run and run[n].passed)
    return f"{passed}/{len(names)}"


class Report:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.runs = read_all(args.results)
        self.revisions = sorted({rev for (_, _, rev) in self.runs})
        self.fixtures = sorted({f for (f, _, _) in self.runs}, key=["python", "typescript", "rmcp"].index)
        # Loopback first: the bind tests run on, then the others.
        self.targets = sorted({t for (_, t, _) in self.runs if t != DIRECT}, key=lambda t: (t != "gateway-127.0.0.1", t))
        self.sets = {rev: read_requirements(args.requirements, rev) for rev in self.revisions}
        self.expected = read_expected(args.expected)
        self.notes = read_shortfalls(args.shortfalls)
        self.changes: list[Change] = []
        self.regressions: list[Change] = []
        for (fixture, target, revision), run in self.runs.items():
            direct = self.runs.get((fixture, DIRECT, revision))
            if target == DIRECT or direct is None:
                continue
            for change in changes(direct, run, (fixture, target, revision)):
                self.changes.append(change)
                scored = change.scenario in self.sets[revision].required
                if scored and is_regression(change, direct):
                    self.regressions.append(change)

    def run(self, fixture: str, target: str, revision: str) -> dict[str, Scenario] | None:
        return self.runs.get((fixture, target, revision))

    def render(self) -> str:
        a = self.args
        unexpected = [c for c in self.regressions if not listed(c, self.expected)]
        lines = ["# MCP conformance: each fixture directly and through agent-gateway", ""]
        lines += [f"- Date: {a.date}", f"- Command: `{a.command}` ({a.duration})"]
        lines += [f"- {v}" for v in a.version]
        lines += [
            f"- Verdict: {len(self.regressions)} regression(s) through the gateway in required scenarios"
            f" ({len(self.regressions) - len(unexpected)} listed in expected-failures.txt)",
            "",
            "## Required scenarios passed",
            "",
            "Of each revision's requirement set (`--requirements`): "
            + ", ".join(f"{rev}: {len(s.required)} scenarios" for rev, s in self.sets.items())
            + ". A scenario passes when none of its checks is a FAILURE.",
            "",
        ]
        header = ["Fixture", "Revision", "Direct"] + [f"Through the gateway ({t.removeprefix('gateway-')})" for t in self.targets]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for fixture in self.fixtures:
            for rev in self.revisions:
                required = self.sets[rev].required
                row = [fixture, rev] + [score(self.run(fixture, t, rev), required) for t in [DIRECT] + self.targets]
                lines.append("| " + " | ".join(row) + " |")
        lines += self.shortfalls()
        lines += self.differences()
        lines += self.not_scored()
        return "\n".join(lines) + "\n"

    def shortfalls(self) -> list[str]:
        """Each required scenario that fails somewhere, with its first failing check directly and through
        each gateway target (targets that say the same are merged)."""
        lines = ["", "## Required scenarios that fail", "",
                 "With the first failing check, and whose the failure is (from `conformance/shortfalls.txt`)."
                 " Failing directly is the fixture's (or its SDK's) shortfall; failing only through the gateway"
                 " would be the gateway's.", "",
                 "| Fixture | Revision | Scenario | Directly | Through the gateway | Whose, and why |",
                 "|---|---|---|---|---|---|"]
        rows = 0
        for fixture in self.fixtures:
            for rev in self.revisions:
                for name in self.sets[rev].required:
                    verdicts = {t: self.verdict(fixture, t, rev, name) for t in [DIRECT] + self.targets}
                    if all(v == "pass" for v in verdicts.values()):
                        continue
                    through: dict[str, list[str]] = {}
                    for t in self.targets:
                        through.setdefault(verdicts[t], []).append(t.removeprefix("gateway-"))
                    gateway = "; ".join(v if len(through) == 1 else f"{', '.join(ts)}: {v}" for v, ts in through.items())
                    why = self.why(fixture, rev, name)
                    lines.append(f"| {fixture} | {rev} | {name} | {cell(verdicts[DIRECT])} | {cell(gateway)} | {cell(why, 400)} |")
                    rows += 1
        return lines if rows else lines[:3] + ["None."]

    def why(self, fixture: str, revision: str, scenario: str, check: str = "") -> str:
        for f, r, pattern, why in self.notes:
            names = [f"{scenario}:{check}", scenario] if check else [scenario]
            if fnmatch.fnmatchcase(fixture, f) and fnmatch.fnmatchcase(revision, r) and any(
                fnmatch.fnmatchcase(n, pattern) for n in names
            ):
                return why
        return "**not yet explained**"

    def verdict(self, fixture: str, target: str, revision: str, name: str) -> str:
        run = self.run(fixture, target, revision)
        if run is None:
            return "not run"
        sc = run.get(name)
        if sc is None:
            return "no result"
        return "pass" if sc.passed else sc.failures()[0]

    def differences(self) -> list[str]:
        """The checks that came out worse through the gateway (any status lower than directly), each once
        with the targets it happened on; the better ones only counted."""
        worse: dict[tuple[str, str, str, str, str, str], list[str]] = {}
        better: dict[tuple[str, str], int] = {}
        for c in self.changes:
            if RANK.get(c.gateway, 2) < RANK.get(c.direct, 2):
                worse.setdefault((c.fixture, c.revision, c.scenario, c.check, c.direct, c.gateway), []).append(c.target)
            elif RANK.get(c.gateway, 2) > RANK.get(c.direct, 2):
                better[(c.fixture, c.revision)] = better.get((c.fixture, c.revision), 0) + 1
        lines = ["", "## Checks worse through the gateway", "",
                 "Every check whose status through the gateway is lower than the fixture's own (FAILURE < WARNING <"
                 " INFO, SKIPPED or absent < SUCCESS), required and not scored. `regression` marks what fails"
                 " the run: a required scenario made to fail.", "",
                 "| Fixture | Revision | Scenario | Check | Direct → gateway | Targets | | Whose, and why |",
                 "|---|---|---|---|---|---|---|---|"]
        for (fixture, rev, scenario, check, before, after), targets in sorted(worse.items()):
            probe = Change(fixture, targets[0], rev, scenario, check, before, after)
            mark = ""
            if probe in self.regressions:
                mark = "regression (expected)" if listed(probe, self.expected) else "**regression**"
            elif scenario in self.sets[rev].not_scored:
                mark = f"not scored ({self.sets[rev].not_scored[scenario]})"
            why = cell(self.why(fixture, rev, scenario, check), 400)
            lines.append(f"| {fixture} | {rev} | {scenario} | {check} | {before} → {after} |"
                         f" {', '.join(t.removeprefix('gateway-') for t in sorted(targets))} | {mark} | {why} |")
        if not worse:
            lines = lines[:3] + ["None."]
        if better:
            lines += ["", "Checks better through the gateway than directly (the gateway serves what the fixture's SDK"
                      " does not, e.g. the 2026-07-28 wire in front of a session-era server), counted over all"
                      " targets: " + ", ".join(f"{f} {r}: {n}" for (f, r), n in sorted(better.items())) + "."]
        return lines

    def not_scored(self) -> list[str]:
        lines = ["", "## Scenarios run without scoring", "",
                 "Extensions, pending scenarios and those added after the revision shipped: run for visibility,"
                 " never counted. Passed of run:", ""]
        header = ["Fixture", "Revision", "Direct"] + [t for t in self.targets]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for fixture in self.fixtures:
            for rev in self.revisions:
                names = sorted(self.sets[rev].not_scored)
                lines.append("| " + " | ".join([fixture, rev] + [score(self.run(fixture, t, rev), names) for t in [DIRECT] + self.targets]) + " |")
        return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, required=True, help="results/<fixture>/<target>/<revision>/")
    parser.add_argument("--requirements", type=Path, required=True, help="the suite's requirements/ folder")
    parser.add_argument("--expected", type=Path, required=True, help="expected-failures.txt")
    parser.add_argument("--shortfalls", type=Path, default=Path(__file__).with_name("shortfalls.txt"),
                        help="why required scenarios fail: fixture revision scenario-glob  # whose: why")
    parser.add_argument("--markdown", type=Path, required=True, help="where to write the summary")
    parser.add_argument("--date", required=True)
    parser.add_argument("--duration", default="")
    parser.add_argument("--command", default="conformance/run.sh")
    parser.add_argument("--version", action="append", default=[], help="'name: version', repeatable")
    args = parser.parse_args()

    report = Report(args)
    if not report.runs:
        print("no results found", file=sys.stderr)
        return 1
    args.markdown.write_text(report.render())
    for fixture in report.fixtures:
        for rev in report.revisions:
            required = report.sets[rev].required
            cells = [f"{t} {score(report.run(fixture, t, rev), required)}" for t in [DIRECT] + report.targets]
            print(f"  {fixture:10} {rev}: " + ", ".join(cells))
    unexpected = [c for c in report.regressions if not listed(c, report.expected)]
    for c in report.regressions:
        tag = "regression" if c in unexpected else "expected regression"
        print(f"  {tag}: {c.fixture} {c.revision} {c.target} {c.scenario} {c.check}: {c.direct} -> {c.gateway}")
    print(f"summary written to {args.markdown}")
    print(f"conformance: {len(report.regressions)} regressions ({len(report.regressions) - len(unexpected)} listed as expected)")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
