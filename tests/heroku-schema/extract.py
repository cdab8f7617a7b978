#!/usr/bin/python3
"""Cut the request schema of Heroku's `POST /oauth/tokens` out of the published
Platform API schema, with every definition it $refs, into one small file.

    tests/heroku-schema/extract.py platform-api-schema.json > oauth-token-create.json

The link schema (`definitions.oauth-token.links[rel=create].schema`) is kept
as it is; the definitions it refers to are copied to the same JSON pointers,
so each "$ref": "#/definitions/..." resolves inside the small file.
"""

import json
import sys


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(root, pointer):
    node = root
    for part in pointer.lstrip("#/").split("/"):
        node = node[part]
    return node


def place(target, pointer, value):
    parts = pointer.lstrip("#/").split("/")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def main(path):
    with open(path, encoding="utf-8") as f:
        full = json.load(f)
    link = next(link for link in full["definitions"]["oauth-token"]["links"]
                if link.get("rel") == "create" and link.get("href") == "/oauth/tokens")
    out = {"$schema": "http://json-schema.org/draft-04/schema#",
           "description": "Heroku Platform API, oauth-token create (POST /oauth/tokens): "
                          "the request schema, cut from heroku/platform-api schema.json "
                          "(MIT, LICENSE.md) by extract.py"}
    out.update(link["schema"])
    pending = list(refs(link["schema"]))
    seen = set()
    while pending:
        pointer = pending.pop()
        if pointer in seen:
            continue
        seen.add(pointer)
        value = resolve(full, pointer)
        place(out, pointer, value)
        pending.extend(refs(value))
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
