#!/usr/bin/env python3
"""Validates a plaster evaluation record against its JSON Schema (docs/schema/evaluation.schema.json).

    python3 tools/validate_record.py SCHEMA RECORD

RECORD is either the document form (one JSON object, `--json`) or the JSON Lines form (`--jsonl`):
line 1 the context, each further line a case. A JSON Lines file is assembled into the document
form first; without a recommendation line it gets {"case": null, "reason": "(jsonl)"}.

Exit status: 0 valid; 1 invalid (each error printed with its path in the record, e.g.
`cases/1/metrics/3/value: 'x' is not of type 'number', 'boolean', 'null'`); 2 the files cannot be
read. Needs python3-jsonschema (Debian 12: 4.10, which knows JSON Schema 2020-12).
"""
import json
import sys

import jsonschema


def load_record(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stripped = text.lstrip()
    try:
        return json.loads(text), "document"
    except json.JSONDecodeError:
        if not stripped.startswith("{"):
            raise
    # JSON Lines: one object per non-empty line.
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"line {number}: {e.msg}") from None
    if not lines or not isinstance(lines[0], dict) or lines[0].get("kind") != "context":
        raise ValueError('line 1 is not the context ({"kind": "context", ...})')
    context = lines[0]
    cases, recommendation = [], None
    for number, item in enumerate(lines[1:], start=2):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "case":
            cases.append(item)
        elif kind == "recommendation":
            recommendation = {k: v for k, v in item.items() if k != "kind"}
        else:
            raise ValueError(f"line {number}: kind is {kind!r}, expected 'case' or "
                             "'recommendation'")
    document = {
        "schema": context.get("schema"),
        "schema_version": context.get("schema_version"),
        "context": context,
        "cases": cases,
        "recommendation": recommendation or {"case": None, "reason": "(jsonl)"},
    }
    return document, "jsonl"


def path_of(error):
    parts = [str(p) for p in error.absolute_path]
    return "/".join(parts) if parts else "(the record)"


def main(argv):
    if len(argv) != 3:
        print("usage: validate_record.py SCHEMA RECORD", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        record, form = load_record(argv[2])
    except (OSError, ValueError) as e:
        print(f"validate_record: {e}", file=sys.stderr)
        return 2
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        for e in errors:
            print(f"{argv[2]}: {path_of(e)}: {e.message}")
        print(f"{argv[2]}: invalid ({len(errors)} error{'s' if len(errors) != 1 else ''})")
        return 1
    print(f"{argv[2]}: valid ({form}, {len(record['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
