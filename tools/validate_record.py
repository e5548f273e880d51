#!/usr/bin/env python3
"""Validates a plaster evaluation record against its JSON Schema.

    validate_record.py SCHEMA RECORD

RECORD is a JSON document, or JSON Lines (line 1 the context, then one case per line), which is
assembled into the document form first. Exit status 0 when valid; 1 with the failing path and
message otherwise. Needs python3-jsonschema (Debian).
"""
import json
import sys

import jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not path.endswith(".jsonl"):
        return json.loads(text)
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    context, cases = lines[0], lines[1:]
    return {
        "schema": context.get("schema"),
        "schema_version": context.get("schema_version"),
        "context": context,
        "cases": cases,
        "recommendation": {"case": None, "reason": "not recorded (JSON Lines)"},
    }


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    record = load(sys.argv[2])
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    for e in errors[:20]:
        path = "/".join(str(p) for p in e.absolute_path)
        print(f"{sys.argv[2]}: at /{path}: {e.message[:300]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
