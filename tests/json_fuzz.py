"""Shared pieces of the JSON-field fuzz of model files and checkpoints (issue 18)."""

from __future__ import annotations

import copy

HOSTILE_VALUES = [
    None, True, -1, 0, 2**63, 1e308, -0.5, "", "x" * 10_000, [], [1, "a"], {}, {"a": {"b": []}},
    [[[[[[[[]]]]]]]],
]  # fmt: skip


def json_paths(value, path=()):
    """Every (path, value) in a JSON document, containers and leaves."""
    yield path, value
    if isinstance(value, (dict, list)):
        for key, inner in value.items() if isinstance(value, dict) else enumerate(value):
            yield from json_paths(inner, (*path, key))


def replaced(document, path, new):
    """A copy of ``document`` with the value at ``path`` replaced by ``new``."""
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return document
