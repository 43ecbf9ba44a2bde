#!/usr/bin/env python3
"""Prints the latest criterion results as Markdown tables ready for BENCHMARKS.md.

    python3 zdk-trace-runtime/benches/summary.py [GROUP_SUBSTRING ...]

For every criterion group (or those whose name contains one of the arguments): each case's
median with criterion's 95% interval of the median, the cost over the group's baseline row (a
case whose name starts with "baseline"), and the ratio to the group's reference row (the first
case starting with "zdk #[span] sampled in", or "(a)" in the tail group). Reads
target/criterion/*/*/new/{benchmark,estimates}.json, so it shows the last run of each case.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2] / "target" / "criterion"


def ns(x):
    return f"{x:,.1f}".replace(",", " ")


def main(filters):
    groups = {}
    for bench in ROOT.glob("*/*/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())["median"]
        group = meta["group_id"]
        if filters and not any(f in group for f in filters):
            continue
        groups.setdefault(group, []).append(
            (
                meta["function_id"],
                est["point_estimate"],
                est["confidence_interval"]["lower_bound"],
                est["confidence_interval"]["upper_bound"],
                bench.stat().st_mtime,
            )
        )
    for group, rows in sorted(groups.items()):
        rows.sort(key=lambda r: r[4])  # run order
        base = next((r[1] for r in rows if r[0].startswith("baseline")), None)
        ref = next(
            (r for r in rows if r[0].startswith(("zdk #[span] sampled in", "(a)"))), None
        )
        print(f"\n{group}\n")
        print("| Case | median | over baseline | vs reference |")
        print("| --- | ---: | ---: | ---: |")
        for name, med, lo, hi, _ in rows:
            over = "" if base is None or name.startswith("baseline") else ns(med - base) + " ns"
            ratio = "" if ref is None else f"{med / ref[1]:.2f}×"
            print(f"| {name} | {ns(med)} ns [{ns(lo)}, {ns(hi)}] | {over} | {ratio} |")
        if ref is not None:
            print(f"\nreference: {ref[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
