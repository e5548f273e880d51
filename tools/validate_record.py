#!/usr/bin/env python3
"""Validates a plaster evaluation record against its JSON Schema (docs/schema/evaluation.schema.json).

    python3 tools/validate_record.py SCHEMA RECORD

RECORD is either the document form (one JSON object, `--json`) or the JSON Lines form (`--jsonl`):
line 1 the context, each further line a case. A JSON Lines file is assembled into the document
form first; without a recommendation line it gets {"case": null, "reason": "not recorded (JSON
Lines)"}, as plaster's own reader gives it.

Exit status: 0 valid; 1 invalid (each error printed with its path in the record, e.g.
`at /cases/1/metrics/3/source: 'guessed' is not one of [...]`); 2 the files cannot be
read. Needs python3-jsonschema (Debian 12: 4.10, which knows JSON Schema 2020-12).
"""
import json
import sys

import jsonschema


def load_record(path):
    """The record in the document form, and which form the file had.

    The form is told by the content, as plaster's own reader (src/report/evaluation_record.h) tells
    it: a first line that is a JSON object with "kind" is JSON Lines; anything else is a document.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        first_value = json.loads(first)
    except json.JSONDecodeError:
        first_value = None
    if not (isinstance(first_value, dict) and "kind" in first_value):
        try:
            return json.loads(text), "document"
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON: {e}") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            lines.append((number, json.loads(line)))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {number}: not JSON: {e.msg}") from None
    if lines[0][1].get("kind") != "context":
        raise ValueError(f'{path}: line 1 is not the context ({{"kind": "context", ...}})')
    context = lines[0][1]
    cases, recommendation = [], None
    for number, item in lines[1:]:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "case":
            cases.append(item)
        elif kind == "recommendation":
            recommendation = {k: v for k, v in item.items() if k != "kind"}
        elif kind == "context":
            raise ValueError(f"{path}: line {number}: a second context")
        # Other kinds are skipped: a later plaster may add some without a schema bump.
    document = {
        "schema": context.get("schema"),
        "schema_version": context.get("schema_version"),
        "context": context,
        "cases": cases,
        "recommendation": recommendation or {"case": None,
                                             "reason": "not recorded (JSON Lines)"},
    }
    return document, "jsonl"


def path_of(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


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
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        for e in errors[:20]:  # the first ones say enough; a oneOf message can be very long
            print(f"{argv[2]}: at {path_of(e)}: {e.message[:300]}")
        print(f"{argv[2]}: invalid ({len(errors)} error{'s' if len(errors) != 1 else ''})")
        return 1
    print(f"{argv[2]}: valid ({form}, {len(record['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
