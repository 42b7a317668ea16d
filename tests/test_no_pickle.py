"""The package never runs code from data: no pickle, eval, exec or allow_pickle=True (issue 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "glassnet"
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


def _problems(source: str, filename: str) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                problems.append(f"{filename}:{getattr(node, 'lineno', 0)} imports {name}")
        if isinstance(node, ast.Call):
            function = node.func
            # Bare builtins (eval, compile...), or eval/exec reached through a module. Method
            # calls such as re.compile are fine.
            if isinstance(function, ast.Name) and function.id in FORBIDDEN_CALLS:
                problems.append(f"{filename}:{node.lineno} calls {function.id}()")
            if isinstance(function, ast.Attribute) and function.attr in {"eval", "exec"}:
                problems.append(f"{filename}:{node.lineno} calls .{function.attr}()")
            for keyword in node.keywords:
                if keyword.arg == "allow_pickle" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    problems.append(f"{filename}:{node.lineno} passes allow_pickle=True")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_MODULES:
            problems.append(f"{filename}:{node.lineno} uses .{node.attr}")
    return problems


def test_package_files_are_found():
    assert len(list(PACKAGE.rglob("*.py"))) >= 10


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_module_never_unpickles_or_evaluates(path):
    assert _problems(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize(
    "source",
    [
        "import pickle",
        "from pickle import loads",
        "import marshal as m",
        "import shelve",
        "x = eval('1')",
        "exec('x = 1')",
        "builtins.eval('1')",
        "np.load(path, allow_pickle=True)",
        "np.load(path, allow_pickle=flag)",
        "__import__('os')",
        "y = np.lib.format.pickle",
        "compile(source, 'x', 'exec')",
    ],
)
def test_the_lint_catches_each_forbidden_use(source):
    assert _problems(source, "example.py")


def test_the_lint_allows_regular_expressions():
    assert _problems("pattern = re.compile(r'x')", "example.py") == []
