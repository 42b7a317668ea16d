"""Root pytest configuration: skip doctest collection of modules whose optional extra is absent."""

import importlib.util

collect_ignore = [
    f"src/glassnet/{module}.py"
    for module, package in (("sklearn", "sklearn"), ("cli", "typer"), ("plot", "matplotlib"))
    if importlib.util.find_spec(package) is None
]
