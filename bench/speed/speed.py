"""Prints the speed benchmark's table from the results (JSON lines) of bench/load/loadbench.py:
server CPU per GetUser for the do-nothing server, Portcullis and moto, the ratios the speed
target is stated in, and the p99 of both servers at the fixed offered rate."""

import json
import statistics
import sys


def rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def cpu(r: dict) -> float | None:
    return r.get("server_cpu_us_per_req_settled", r.get("server_cpu_us_per_req"))


def main() -> int:
    all_rows = [r for r in rows(sys.argv[1]) if r.get("status") == "ok"]
    closed = [r for r in all_rows if r.get("label") == "speed"]
    opened = [r for r in all_rows if r.get("label") == "openloop"]

    def of(server: str, key) -> list[float]:
        return [v for r in closed if r["server"] == server and (v := key(r)) is not None]

    print("| server | rounds | req/s (median) | server CPU µs/request (each round) | median |")
    print("|---|---:|---:|---|---:|")
    med = {}
    for server, name in (("ceiling", "do-nothing axum server"), ("portcullis", "Portcullis GetUser"), ("moto", "moto GetUser")):
        cpus, rps = of(server, cpu), of(server, lambda r: r.get("rps"))
        if not cpus:
            continue
        med[server] = (median(cpus), median(rps))
        print(f"| {name} | {len(cpus)} | {med[server][1]:,.0f} | {', '.join(f'{x:.1f}' for x in cpus)} | **{med[server][0]:.1f}** |")
    print()
    if "ceiling" in med and "portcullis" in med:
        ratio = med["portcullis"][0] / med["ceiling"][0]
        print(f"Portcullis / do-nothing server, CPU per request: **{ratio:.2f}×** (target ≤ 2×: {'met' if ratio <= 2 else 'not met'})")
    if "moto" in med and "portcullis" in med:
        print(f"Portcullis / moto: **{med['portcullis'][1] / med['moto'][1]:.1f}×** the requests per second, "
              f"**{med['moto'][0] / med['portcullis'][0]:.1f}×** less CPU per request")
    if opened:
        print()
        print("| server | offered req/s | achieved (median) | p50 | p99 (each round) | p99 median |")
        print("|---|---:|---:|---:|---|---:|")
        p99 = {}
        for server in ("ceiling", "portcullis"):
            rs = [r for r in opened if r["server"] == server and r.get("p99_us") is not None]
            if not rs:
                continue
            p99[server] = median([r["p99_us"] for r in rs])
            each = ", ".join(f"{r['p99_us'] / 1000:.2f}" for r in rs)
            print(f"| {server} | {rs[0]['offered_rps']:,} | {median([r['achieved_rps'] for r in rs]):,.0f} "
                  f"| {median([r['p50_us'] for r in rs]) / 1000:.2f} ms | {each} ms "
                  f"| **{p99[server] / 1000:.2f} ms** |")
        if len(p99) == 2:
            ratio = p99["portcullis"] / p99["ceiling"]
            print()
            print(f"Portcullis / do-nothing server, p99 at the fixed rate: **{ratio:.2f}×** (target ≤ 2×: {'met' if ratio <= 2 else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
