"""Root pytest configuration: skip doctest collection of modules whose optional extra is absent."""

import importlib.util

collect_ignore: list[str] = []
# The sklearn package (base, classifier, regressor) imports scikit-learn throughout: skip it whole.
if importlib.util.find_spec("sklearn") is None:
    collect_ignore.append("src/glassnet/sklearn")
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("src/glassnet/plot.py")
# The cli package (a module per command) imports typer throughout: skip it whole.
if importlib.util.find_spec("typer") is None:
    collect_ignore.append("src/glassnet/cli")
# The scripts that regenerate the committed reference files need PyTorch, which CI does not
# install (the references are committed so that it need not): never collect them.
collect_ignore.append("tests/reference")
