#!/usr/bin/env python3
"""demo-export-run.py SELECT_JSON - which run `make demo` exports.

Prints nothing when the sweep has a mainline (`mainline export demo` exports it by
itself); otherwise the run of the best candidate (the frozen comparison's leader) whose
selected checkpoint scored the highest accuracy, the first in plan order on a tie. Exits
1 with a message when there is no candidate with a selected checkpoint at all.
"""
import json
import sys

doc = json.load(open(sys.argv[1]))
if (doc.get("mainline") or {}).get("mainline"):
    sys.exit(0)
leader = (doc.get("compare") or {}).get("leader")
best = None
for k in doc.get("checkpoints") or []:
    if k.get("step") is None or k.get("accuracy") is None:
        continue
    if leader and k.get("condition") != leader:
        continue
    if best is None or k["accuracy"] > best["accuracy"]:
        best = k
if best is None:
    sys.exit("demo-export-run.py: no candidate run has a selected, evaluated checkpoint")
print(best["run"])
