#!/usr/bin/env python3
"""Summarises a schemathesis NDJSON report: each distinct failure once, with a count."""
import collections
import json
import sys

failures = collections.Counter()
example = {}
for line in open(sys.argv[1], encoding="utf-8"):
    event = json.loads(line)
    finished = event.get("ScenarioFinished")
    if not finished:
        continue
    recorder = finished.get("recorder") or {}
    label = recorder.get("label")
    for case_id, checks in (recorder.get("checks") or {}).items():
        for check in checks:
            if check.get("status") != "failure":
                continue
            failure = (check.get("failure_info") or {}).get("failure") or {}
            message = failure.get("message", "")
            key = (label, check.get("name"), message.split("\n")[0][:160])
            failures[key] += 1
            if key not in example:
                response = ((recorder.get("interactions") or {}).get(case_id) or {}).get("response") or {}
                request = ((recorder.get("interactions") or {}).get(case_id) or {}).get("request") or {}
                example[key] = (message.replace("\n", " | ")[:400], request.get("uri"), response.get("status_code"))
for key, count in sorted(failures.items()):
    print(f"{count:5}  {key[0]}  [{key[1]}]")
    print(f"       {example[key]}")
print(f"{len(failures)} distinct failures")
