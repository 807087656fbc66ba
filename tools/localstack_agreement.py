"""Helper for tools/localstack-agreement.sh (see that script for the overview).

Subcommands:
  downport DIR          rewrite PEP 695 syntax (``class C[T]``, ``def f[T]``,
                        ``type X = ...``) and ``warnings.deprecated`` so
                        LocalStack's code imports on Python 3.11; only files
                        that need it are touched
  select CHECKOUT OUT   write the node ids of the IAM/STS tests that LocalStack
                        validated against AWS (listed in a *.validation.json)
  report OUTDIR         summarise results.jsonl (written by the plugin below)

It is also a pytest plugin (``-p localstack_agreement``): for every test it
appends one JSON line to $LA_RESULTS with the outcome and, for snapshot
mismatches, each mismatching snapshot key with the differing paths and values.
Nothing from LocalStack is stored in this repository: the script fetches it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from collections import Counter, defaultdict

# ---------------------------------------------------------------------------
# downport
# ---------------------------------------------------------------------------

_HEAD = re.compile(r"^(\s*)(class|def)\s+([A-Za-z_]\w*)\[")
_TYPE_ALIAS = re.compile(r"^(\s*)type\s+([A-Za-z_]\w*)\s*=\s*(.*)$")


def _split_params(text: str, start: int) -> tuple[list[str], int]:
    """Parse ``[A, B: bound, *Ts]`` beginning at text[start] == '['."""
    depth, i, cur, params = 0, start, "", []
    while i < len(text):
        c = text[i]
        if c in "[(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in "])":
            depth -= 1
            if depth == 0:
                params.append(cur)
                return [p.split(":")[0].strip().lstrip("*") for p in params if p.strip()], i + 1
        elif c == "," and depth == 1:
            params.append(cur)
            cur = ""
            i += 1
            continue
        cur += c
        i += 1
    raise ValueError("unterminated type parameter list")


def _downport_source(src: str) -> str:
    out = []
    lines = src.split("\n")
    for line in lines:
        m = _HEAD.match(line)
        if m:
            indent, kind, name = m.groups()
            names, end = _split_params(line, m.end() - 1)
            rest = line[end:]
            # the TypeVars go before the decorators (single-line ones) of the definition
            at = len(out)
            while at > 0 and out[at - 1].startswith(indent + "@"):
                at -= 1
            out[at:at] = [f'{indent}{n} = __import__("typing").TypeVar("{n}")' for n in names]
            if kind == "class":
                generic = f'__import__("typing").Generic[{", ".join(names)}]'
                if rest.startswith("("):
                    # keep the bases; Generic goes last (valid even if a base is generic)
                    close = _matching_paren(rest)
                    bases = rest[1:close].strip()
                    rest = f"({bases + ', ' if bases else ''}{generic})" + rest[close + 1:]
                else:
                    rest = f"({generic})" + rest
            out.append(f"{indent}{kind} {name}{rest}")
            continue
        m = _TYPE_ALIAS.match(line)
        if m and not line.strip().startswith("type ="):
            indent, name, expr = m.groups()
            out.append(f"{indent}{name} = {expr}")
            continue
        out.append(line)
    return "\n".join(out)


def _matching_paren(text: str) -> int:
    depth = 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses in class header")


def downport(root: str) -> int:
    changed = 0
    for path in glob.glob(os.path.join(root, "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        if sys.version_info < (3, 13) and "from warnings import deprecated" in src:
            # warnings.deprecated is new in 3.13; typing_extensions has the same decorator
            src = src.replace("from warnings import deprecated", "from typing_extensions import deprecated")
            with open(path, "w", encoding="utf-8") as f:
                f.write(src)
            changed += 1
        try:
            compile(src, path, "exec")
            continue
        except SyntaxError:
            pass
        new = _downport_source(src)
        try:
            compile(new, path, "exec")
        except SyntaxError as e:
            print(f"downport: still not compilable, left as is: {path}: {e}", file=sys.stderr)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        changed += 1
    print(f"downport: rewrote {changed} file(s) under {root}")
    return 0


# ---------------------------------------------------------------------------
# select
# ---------------------------------------------------------------------------

SUITES = ["tests/aws/services/iam", "tests/aws/services/sts"]


def select(checkout: str, out: str) -> int:
    ids = []
    for suite in SUITES:
        for vf in sorted(glob.glob(os.path.join(checkout, suite, "test_*.validation.json"))):
            with open(vf, encoding="utf-8") as f:
                ids.extend(json.load(f).keys())
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(ids) + "\n")
    print(f"select: {len(ids)} validated test ids")
    return 0


# ---------------------------------------------------------------------------
# pytest plugin
# ---------------------------------------------------------------------------

_SELECTED: set[str] | None = None


def _selected() -> set[str]:
    global _SELECTED
    if _SELECTED is None:
        path = os.environ.get("LA_SELECT")
        _SELECTED = set()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                _SELECTED = {l.strip() for l in f if l.strip()}
    return _SELECTED


def pytest_collection_modifyitems(session, config, items):
    sel = _selected()
    if not sel:
        return
    keep, drop = [], []
    for it in items:
        (keep if it.nodeid in sel else drop).append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    found = {it.nodeid for it in keep}
    missing = sorted(sel - found)
    path = os.environ.get("LA_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            for nid in missing:
                f.write(json.dumps({"nodeid": nid, "outcome": "not-collected"}) + "\n")


def _short(v, n=300):
    s = json.dumps(v, default=str, sort_keys=True) if not isinstance(v, str) else v
    return s if len(s) <= n else s[: n - 3] + "..."


def _snapshot_diffs(err) -> list[dict]:
    """Per failing snapshot key: the differing paths, recorded vs actual."""
    out = []
    for res in getattr(err, "result", []) or []:
        if res:
            continue
        entry = {"key": res.key, "diffs": []}
        try:
            delta = json.loads(res.result.to_json())
        except Exception:  # pragma: no cover - defensive
            delta = {"raw": str(res.result)}
        for kind, changes in delta.items():
            if isinstance(changes, dict):
                for path, val in changes.items():
                    rec = {"kind": kind, "path": path}
                    if isinstance(val, dict) and ("old_value" in val or "new_value" in val):
                        rec["aws"] = _short(val.get("old_value"))
                        rec["portcullis"] = _short(val.get("new_value"))
                    elif "removed" in kind:  # present in the AWS recording only
                        rec["aws"], rec["portcullis"] = _short(val), "<absent>"
                    elif "added" in kind:  # present in Portcullis' response only
                        rec["aws"], rec["portcullis"] = "<absent>", _short(val)
                    else:
                        rec["value"] = _short(val)
                    entry["diffs"].append(rec)
            elif isinstance(changes, list):
                for path in changes:
                    entry["diffs"].append({"kind": kind, "path": str(path)})
            else:
                entry["diffs"].append({"kind": kind, "value": _short(changes)})
        out.append(entry)
    return out


def _partial_snapshot(item) -> list[dict]:
    """Snapshot keys matched before the test raised (the plugin only checks passing tests)."""
    sm = getattr(item, "funcargs", {}).get("snapshot")
    if sm is None or not getattr(sm, "observed_state", None):
        return []
    try:
        from localstack_snapshot.snapshots.prototype import SnapshotMatchResult

        if not hasattr(sm, "skip_verification_paths"):
            sm.skip_verification_paths = []
        recorded = sm.recorded_state
        observed = sm._transform(sm.observed_state)
        out = []
        for key in sm.called_keys:
            if key in recorded:
                res = SnapshotMatchResult(recorded[key], observed[key], key=key)
                if not res:
                    out.extend(_snapshot_diffs(type("E", (), {"result": [res]})()))
        return out
    except Exception as e:  # pragma: no cover - best effort
        return [{"key": "?", "diffs": [{"kind": "error", "value": str(e)[:200]}]}]


def _write(rec: dict):
    path = os.environ.get("LA_RESULTS")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec, default=str) + "\n")


_STATE: dict[str, dict] = {}


def pytest_runtest_makereport(item, call):
    nid = item.nodeid
    st = _STATE.setdefault(nid, {"nodeid": nid, "phases": {}})
    if call.excinfo is None:
        st["phases"][call.when] = "passed"
        return
    exc = call.excinfo.value
    kind = type(exc).__name__
    from _pytest.outcomes import Skipped

    if call.excinfo.errisinstance(Skipped):
        st["phases"][call.when] = "skipped"
        st["reason"] = str(exc)[:300]
        return
    st["phases"][call.when] = "failed"
    if kind == "SnapshotAssertionError":
        st["snapshot"] = _snapshot_diffs(exc)
    else:
        if call.when == "call":
            st["snapshot_before_error"] = _partial_snapshot(item)
        where = ""
        try:  # the innermost line of the test module itself
            for entry in reversed(call.excinfo.traceback):
                if str(entry.path) == str(item.path):
                    where = f"line {entry.lineno + 1}: {str(entry.statement).strip().splitlines()[0]}"
                    break
        except Exception:  # pragma: no cover - best effort
            pass
        st.setdefault("errors", []).append(
            {"when": call.when, "type": kind, "message": _short(str(exc), 1200), "where": where}
        )


def pytest_runtest_logfinish(nodeid, location):
    st = _STATE.pop(nodeid, None)
    if st is None:
        return
    ph = st["phases"]
    if ph.get("setup") == "skipped" or ph.get("call") == "skipped":
        outcome = "skipped"
    elif ph.get("setup") == "failed":
        outcome = "error"
    elif ph.get("call") == "failed":
        outcome = "snapshot-mismatch" if "snapshot" in st and not st.get("errors") else "failed"
    elif ph.get("teardown") == "failed":
        outcome = "passed-teardown-error"
    else:
        outcome = "passed"
    st["outcome"] = outcome
    _write(st)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def report(outdir: str) -> int:
    path = os.path.join(outdir, "results.jsonl")
    recs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            recs[r["nodeid"]] = r
    by_suite: dict[str, Counter] = defaultdict(Counter)
    for nid, r in recs.items():
        suite = "sts" if "/sts/" in nid else "iam"
        by_suite[suite][r["outcome"]] += 1
        by_suite["total"][r["outcome"]] += 1
    lines = ["# LocalStack IAM/STS snapshot agreement", ""]
    lines.append("| suite | selected | passed | snapshot-mismatch | failed (assert/exception) | setup error | skipped | not collected | pass % of run |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for suite in ("iam", "sts", "total"):
        c = by_suite[suite]
        sel = sum(c.values())
        passed = c["passed"] + c["passed-teardown-error"]
        run = sel - c["not-collected"] - c["skipped"]
        pct = f"{100.0 * passed / run:.1f}" if run else "-"
        lines.append(f"| {suite} | {sel} | {passed} | {c['snapshot-mismatch']} | {c['failed']} | {c['error']} | {c['skipped']} | {c['not-collected']} | {pct} |")
    lines.append("")
    for outcome in ("snapshot-mismatch", "failed", "error", "skipped", "not-collected", "passed-teardown-error"):
        items = sorted(n for n, r in recs.items() if r["outcome"] == outcome)
        if not items:
            continue
        lines.append(f"## {outcome} ({len(items)})")
        for n in items:
            r = recs[n]
            lines.append(f"- `{n}`")
            for s in r.get("snapshot", []) + r.get("snapshot_before_error", []):
                lines.append(f"  - key `{s['key']}`")
                for d in s["diffs"][:12]:
                    if "aws" in d:
                        lines.append(f"    - {d['kind']} `{d['path']}`: AWS `{d['aws']}` / Portcullis `{d['portcullis']}`")
                    else:
                        lines.append(f"    - {d['kind']} `{d.get('path', '')}` {d.get('value', '')}")
                if len(s["diffs"]) > 12:
                    lines.append(f"    - ... {len(s['diffs']) - 12} more")
            for e in r.get("errors", []):
                msg = e["message"].replace("\n", " ")[:400]
                lines.append(f"  - {e['when']}: {e['type']}: {msg} ({e.get('where', '')})")
            if r.get("reason"):
                lines.append(f"  - reason: {r['reason']}")
        lines.append("")
    text = "\n".join(lines)
    with open(os.path.join(outdir, "report.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print("\n".join(lines[:8]))
    print(f"full report: {os.path.join(outdir, 'report.md')}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "downport":
        return downport(argv[1])
    if len(argv) >= 3 and argv[0] == "select":
        return select(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == "report":
        return report(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
