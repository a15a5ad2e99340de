#!/usr/bin/env python3
"""Prints target/bench/results.json (written by `cargo bench --bench gateway`) as the Markdown tables of
benches/RESULTS.md, so a recorded number is copied by a program rather than by hand.

    benches/results_table.py [PATH]
"""

import json
import sys
from pathlib import Path

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "target/bench/results.json"
run = json.loads(path.read_text())
print(f"machine: {run['machine']}  \nargs: {run['args']}\n")
print("| scenario | via | c | req/s | errors | p50 µs | p90 µs | p99 µs | ×direct | +p50 µs | +p99 µs |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def num(value, digits=0):
    return "" if value is None else f"{value:,.{digits}f}"


for row in run["rows"]:
    ratio = row.get("rps_ratio_vs_direct")
    print(
        f"| {row['scenario']} | {row['via']} | {row['concurrency']} | {num(row['rps'])} | {row['errors']} "
        f"| {num(row['p50_us'])} | {num(row['p90_us'])} | {num(row['p99_us'])} "
        f"| {'' if ratio is None else f'{ratio:.2f}'} | {num(row.get('added_p50_us'))} "
        f"| {num(row.get('added_p99_us'))} |"
    )
print()
for key, value in run["notes"].items():
    print(f"- `{key}`: {value}")
