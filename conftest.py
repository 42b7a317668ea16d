"""Root pytest configuration: skip doctest collection of modules whose optional extra is absent."""

import importlib.util

collect_ignore = [
    f"src/glassnet/{module}.py"
    for module, package in (("sklearn", "sklearn"), ("plot", "matplotlib"))
    if importlib.util.find_spec(package) is None
]
# The cli package (a module per command) imports typer throughout: skip it whole.
if importlib.util.find_spec("typer") is None:
    collect_ignore.append("src/glassnet/cli")
