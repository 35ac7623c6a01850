#!/usr/bin/python3
"""Checks scenario files against scenarios/schema.json with python3-jsonschema.

The C++ loader (sim/scenario/loader.h) is the authority on scenario files; the schema
states the same contract for editors and other tools. The Boost test
tests/unit/scenario/schema_agreement_test.cpp runs this script (--verdicts) on every file and
compares its verdict with the loader's.

Usage:
  schema_agreement.py --check FILE    exit 0: the schema accepts FILE; 1: it rejects it
                                      (the first error is printed); 3: FILE is not JSON
                                      (no schema verdict); 2: usage or schema problem
  schema_agreement.py --verdicts FILE...
                                      one line per file: "<exit code of --check> <FILE>"
                                      (one process for many files; exit 0 unless the
                                      schema itself is broken)
  schema_agreement.py                 checks the schema itself, then every file in
                                      scenarios/*.json (must be accepted) and
                                      scenarios/broken/*.json (must be rejected, except
                                      semantic_*.json: errors only the loader can see, so
                                      the schema must accept them); exit 0 if all hold
"""
import argparse
import glob
import json
import os
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "scenarios", "schema.json")

EXIT_VALID, EXIT_INVALID, EXIT_USAGE, EXIT_NOT_JSON = 0, 1, 2, 3


def load_validator():
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def verdict(validator, path):
    """Returns (exit code, message)."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        return EXIT_NOT_JSON, f"not JSON: {e}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return EXIT_VALID, "valid"
    return EXIT_INVALID, f"{error.json_path}: {error.message}"


def expected(path):
    name = os.path.basename(path)
    if os.path.basename(os.path.dirname(path)) != "broken" or name.startswith("semantic_"):
        return EXIT_VALID
    return EXIT_INVALID


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="FILE", help="validate one file and report by exit code")
    parser.add_argument("--verdicts", metavar="FILE", nargs="+", help="print the --check exit code of each file")
    args = parser.parse_args()
    try:
        validator = load_validator()
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"{SCHEMA}: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.verdicts:
        for path in args.verdicts:
            code, _ = verdict(validator, path)
            print(f"{code} {path}")
        return EXIT_VALID
    if args.check:
        code, message = verdict(validator, args.check)
        print(f"{args.check}: {message}")
        return code
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.json")))
    files = [f for f in files if os.path.basename(f) != "schema.json"]
    files += sorted(glob.glob(os.path.join(ROOT, "scenarios", "broken", "*.json")))
    failures = skipped = 0
    for path in files:
        code, message = verdict(validator, path)
        if code == EXIT_NOT_JSON:
            print(f"skip  {os.path.relpath(path, ROOT)}: {message}")
            skipped += 1
            continue
        ok = code == expected(path)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {os.path.relpath(path, ROOT)}: {message}")
    checked = len(files) - skipped
    print(f"{checked - failures}/{checked} files as expected ({skipped} not JSON, skipped)")
    return EXIT_VALID if failures == 0 else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
