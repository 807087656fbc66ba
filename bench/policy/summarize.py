#!/usr/bin/env python3
"""Prints the Markdown tables of docs/benchmarks.md from criterion's last run.

Usage: python3 summarize.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else ./target/criterion).
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
EVAL = "10-policies-50-statements"


def est(group, bench):
    path = os.path.join(root, group.replace("/", "_"), bench, "new", "estimates.json")
    with open(path) as f:
        e = json.load(f)
    m = e["median"]
    return m["point_estimate"], m["confidence_interval"]["lower_bound"], m["confidence_interval"]["upper_bound"], e["mean"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def row(name, group, bench):
    med, lo, hi, mean = est(group, bench)
    print(f"| `{group}/{bench}` | **{fmt(med)}** | {fmt(lo)} – {fmt(hi)} | {fmt(mean)} |")
    return med


print("| benchmark | median (p50) | 95% CI of the median | mean |")
print("| --- | ---: | --- | ---: |")
for b in ["AdministratorAccess", "Force_MFA"]:
    row(b, "parse", b)
p, c = {}, {}
for d in ["allowed", "implicit-deny", "explicit-deny"]:
    p[d] = row(d, f"evaluate/portcullis/{EVAL}", d)
row("allowed-uncached-context", f"evaluate/portcullis/{EVAL}", "allowed-uncached-context")
for d in ["allowed", "implicit-deny", "explicit-deny"]:
    c[d] = row(d, f"evaluate/cedar/{EVAL}", d)

print()
print("| decision | portcullis (median) | cedar (median) | cedar / portcullis |")
print("| --- | ---: | ---: | ---: |")
for d in ["allowed", "implicit-deny", "explicit-deny"]:
    print(f"| {d} | {fmt(p[d])} | {fmt(c[d])} | {c[d] / p[d]:.0f}× |")

print()
print("| other policies in the account, not attached | median (p50) | 95% CI of the median | mean |")
print("| ---: | ---: | --- | ---: |")
med, lo, hi, mean = est(f"evaluate/portcullis/{EVAL}", "allowed")
print(f"| 0 (`.../allowed` above) | {fmt(med)} | {fmt(lo)} – {fmt(hi)} | {fmt(mean)} |")
for n in ["10", "1000", "10000"]:
    med, lo, hi, mean = est("evaluate/portcullis/scaling", n)
    print(f"| {int(n):,} | {fmt(med)} | {fmt(lo)} – {fmt(hi)} | {fmt(mean)} |")
