#!/usr/bin/python3
"""Validate request bodies against Heroku's schema for POST /oauth/tokens.

    tests/heroku-schema/validate.py BODY.json...

Each file holds one request body.  Prints one line per file, "ok FILE" or
"invalid FILE: why"; exit status 1 when any file is invalid, 2 when one
cannot be read or parsed.
"""

import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(os.path.realpath(__file__)), "oauth-token-create.json")


def validator():
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def main(paths):
    check = validator()
    status = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                body = json.load(f)
        except (OSError, ValueError) as e:
            print(f"unreadable {path}: {e}")
            return 2
        errors = sorted(e.message for e in check.iter_errors(body))
        if errors:
            print(f"invalid {path}: {'; '.join(errors)}")
            status = 1
        else:
            print(f"ok {path}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else 2)
