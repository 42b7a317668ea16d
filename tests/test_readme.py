"""The README's Python examples run as written (on real MNIST digits)."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_examples_run(mnist_test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write model files
    X, y = mnist_test
    namespace = {"X_train": X[:2000], "y_train": y[:2000], "X_test": X[9000:], "y_test": y[9000:]}
    blocks = python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["model"].predict(X[:5]).shape == (5,)
    assert np.isfinite(namespace["model"].get_weights()).all()
