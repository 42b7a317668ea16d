"""Load a CSV table into a float32 feature matrix and a target vector (stdlib csv + NumPy).

Named ``tables`` so that ``import csv`` inside this package still means the standard library.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._errors import DatasetError, DatasetNotFoundError

__all__ = ["MISSING_VALUES", "Table", "load_csv"]

#: Cell texts read as missing (compared case-insensitively, after stripping spaces).
MISSING_VALUES = ("", "na", "n/a", "nan", "null", "none", "?")
#: ``task="auto"`` picks classification for integer targets with at most this many values.
MAX_AUTO_CLASSES = 20
_MAX_REPORTED = 5
_ROW_CONVENTION = "line numbers count the header as line 1"


@dataclass(frozen=True, repr=False, eq=False)
class Table:
    """A table split into features and target.

    Attributes
    ----------
    X : numpy.ndarray
        ``float32``, shape ``(n_samples, n_features)``.
    y : numpy.ndarray
        Shape ``(n_samples,)``: ``int64`` class ids ``0 .. k-1`` for classification,
        ``float32`` values for regression.
    feature_names : tuple of str
        Column name of each column of ``X``.
    target_name : str
        Column name of ``y``.
    class_names : tuple of str or None
        ``class_names[i]`` is the label text of class id ``i``; None for regression.
    task : str
        ``"classification"`` or ``"regression"``.
    columns : tuple of str
        The CSV columns the features come from, in order (before one-hot encoding).
    categories : dict of str to tuple of str
        For each one-hot encoded text column, its levels in the order of its ``X`` columns,
        which are named ``"column=level"`` in ``feature_names``.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] | None
    task: str
    columns: tuple[str, ...] = ()
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def decode(self, class_ids: np.ndarray | Sequence[int]) -> np.ndarray:
        """Map class ids back to their label texts.

        Parameters
        ----------
        class_ids : array-like of int, any shape
            Ids in ``0 .. len(class_names) - 1``, e.g. ``model.predict(X)``.

        Returns
        -------
        labels : numpy.ndarray of str
            Same shape as ``class_ids``.
        """
        if self.class_names is None:
            raise DatasetError(
                f"decode expects a classification table, got task={self.task!r} for target "
                f"{self.target_name!r}. Regression targets are already values."
            )
        ids = np.asarray(class_ids)
        if ids.dtype.kind not in "iu":
            raise DatasetError(
                f"decode expects integer class ids, got dtype={ids.dtype}. If these are "
                "probabilities, pass probabilities.argmax(axis=1)."
            )
        k = len(self.class_names)
        if ids.size and (ids.min() < 0 or ids.max() >= k):
            raise DatasetError(
                f"decode expects class ids in 0..{k - 1}, got min={ids.min()} max={ids.max()}."
            )
        return np.asarray(self.class_names)[ids]

    def __repr__(self) -> str:
        classes = "" if self.class_names is None else f", classes={len(self.class_names)}"
        return (
            f"Table(X={self.X.shape} {self.X.dtype}, y={self.y.shape} {self.y.dtype}, "
            f"target={self.target_name!r}, task={self.task!r}{classes})"
        )


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _parse_numbers(columns: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Parse text columns: (float64 values ``(n, d)`` with NaN where unparsable, bad mask).

    A cell is bad if it is missing, not a number, or not finite once cast to float32 (the
    working type), e.g. ``1e40``.
    """
    values = np.empty((len(columns[0]), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        try:
            values[:, j] = np.array(column, dtype=np.float64)  # fast path: C-level parsing
        except ValueError:  # some cell is not a number: parse one by one to find it
            values[:, j] = [_float_or_nan(text) for text in column]
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(values.astype(np.float32))
    return values, bad


def _bad_cells_message(
    path: str,
    columns: Sequence[Sequence[str]],
    bad: np.ndarray,
    names: Sequence[str],
    lines: Sequence[int],
) -> str:
    """List up to five offending cells as 'line L, column "c": "text" (why)'."""
    rows, cols = np.nonzero(bad)
    shown = []
    for r, c in zip(rows[:_MAX_REPORTED], cols[:_MAX_REPORTED], strict=True):
        text = columns[c][r].strip()
        if text.lower() in MISSING_VALUES:
            why = "missing"
        elif np.isnan(_float_or_nan(text)):
            why = "not a number"
        else:
            why = "not finite in float32"
        shown.append(f"line {lines[r]}, column {names[c]!r}: {text!r} ({why})")
    more = f" (showing the first {_MAX_REPORTED})" if len(rows) > _MAX_REPORTED else ""
    return (
        f"{path}: expected numbers in every cell of columns {list(names)}, got "
        f"{len(rows)} missing or non-numeric cell(s){more}; {_ROW_CONVENTION}:\n  "
        + "\n  ".join(shown)
    )


def load_csv(
    path: str | os.PathLike,
    target: str,
    features: Sequence[str] | None = None,
    task: str = "auto",
    delimiter: str = ",",
    categorical: str | Sequence[str] | None = None,
) -> Table:
    """Read a CSV file with a header row into numeric features and a target.

    Parameters
    ----------
    path : str or path-like
        CSV file (UTF-8, optional BOM). The first line names the columns; blank lines are
        skipped.
    target : str
        Name of the column to predict.
    features : sequence of str, optional
        Feature columns, in the order wanted. Default: every column except ``target``.
        Every feature cell must be a number.
    task : {"auto", "classification", "regression"}
        ``"classification"`` maps the target's distinct values, sorted (numerically if they
        are all numbers), to class ids ``0 .. k-1``. ``"regression"`` reads the target as
        float32. ``"auto"`` picks classification for text targets and for integer targets
        with at most 20 distinct values, regression otherwise; check ``table.task``.
    delimiter : str
        Field separator, e.g. ``";"`` or ``"\\t"``.
    categorical : "auto", sequence of str or None
        Feature columns of text (e.g. ``city``) to one-hot encode: one 0/1 column per
        distinct value, sorted, named ``"city=Paris"``. ``"auto"`` takes every feature
        column in which no cell is a number. None (the default): every feature must be a number.

    Returns
    -------
    table : Table
        ``X`` float32 ``(n, d)``, ``y`` int64 or float32 ``(n,)``, names and ``task``.

    Raises
    ------
    DatasetError
        If ``target`` or a feature name is not a column (the message lists the columns), a
        row has the wrong number of fields, or cells are missing or not numeric: the message
        names up to five such cells by line (the header is line 1) and column.
    DatasetNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.TemporaryDirectory()
    >>> p = os.path.join(folder.name, "pets.csv")
    >>> _ = open(p, "w").write("weight,height,kind\\n4.0,25,cat\\n30,60,dog\\n5,30,cat\\n")
    >>> t = load_csv(p, target="kind")
    >>> t.X.shape, t.y.tolist(), t.class_names, t.task
    ((3, 2), [0, 1, 0], ('cat', 'dog'), 'classification')
    >>> t.decode([1, 0]).tolist()
    ['dog', 'cat']
    >>> folder.cleanup()
    """
    name = os.fspath(path)
    if task not in ("auto", "classification", "regression"):
        raise DatasetError(
            f"load_csv expects task='auto', 'classification' or 'regression', got task={task!r}."
        )
    try:
        stream = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise DatasetNotFoundError(f"{name}: no such file. Check the path.") from error
    with stream:
        reader = csv.reader(stream, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise DatasetError(
                f"{name}: expected a header line naming the columns, got an empty file."
            )
        header = [h.strip() for h in header]
        rows, lines = [], []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise DatasetError(
                    f"{name}: expected {len(header)} fields as in the header, got {len(row)} "
                    f"on line {reader.line_num} ({_ROW_CONVENTION}). Check for a stray or "
                    f"missing delimiter {delimiter!r} or quote."
                )
            rows.append(row)
            lines.append(reader.line_num)
    if not rows:
        raise DatasetError(f"{name}: expected data lines after the header, got none.")

    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DatasetError(
            f"{name}: expected unique column names, got duplicates {duplicates}. Rename them."
        )
    if target not in header:
        raise DatasetError(
            f"{name}: expected target to be one of the columns {header}, got target={target!r}."
        )
    if features is None:
        features = [h for h in header if h != target]
    features = list(features)
    unknown = [f for f in features if f not in header]
    if unknown:
        raise DatasetError(
            f"{name}: expected feature names among the columns {header}, got unknown {unknown}."
        )
    if target in features:
        raise DatasetError(
            f"{name}: the target {target!r} is also listed in features. Remove it from features."
        )
    if not features:
        raise DatasetError(f"{name}: expected at least one feature column besides {target!r}.")

    columns = list(zip(*rows, strict=True))  # one tuple of texts per column
    feature_columns = [columns[header.index(f)] for f in features]
    values, bad = _parse_numbers(feature_columns)
    if categorical == "auto":
        text = [f for j, f in enumerate(features) if bad[:, j].all()]
    else:
        text = list(categorical or [])
        unknown = [c for c in text if c not in features]
        if unknown:
            raise DatasetError(
                f"{name}: expected categorical columns among the features {features}, got "
                f"{unknown}."
            )
    is_text = np.array([f in text for f in features], dtype=bool)
    bad[:, is_text] = False
    for k in np.flatnonzero(is_text):  # a missing category is still missing
        bad[:, k] = [cell.strip().lower() in MISSING_VALUES for cell in feature_columns[k]]
    if bad.any():
        raise DatasetError(
            _bad_cells_message(name, feature_columns, bad, features, lines)
            + "\nFill or drop those rows, or leave non-numeric columns out with features=[...]"
            + ("" if categorical else ", or one-hot encode text columns with categorical='auto'")
            + "."
        )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    categories: dict[str, tuple[str, ...]] = {}
    for j, feature in enumerate(features):
        if not is_text[j]:
            blocks.append(values[:, j : j + 1].astype(np.float32))
            names.append(feature)
            continue
        cells = np.array([cell.strip() for cell in feature_columns[j]])
        levels, codes = np.unique(cells, return_inverse=True)
        blocks.append((codes.reshape(-1, 1) == np.arange(levels.size)).astype(np.float32))
        categories[feature] = tuple(str(level) for level in levels)
        names.extend(f"{feature}={level}" for level in levels)
    X = np.concatenate(blocks, axis=1)  # (n, d) with each text column widened to its levels
    source_columns = tuple(features)
    features = names

    texts = [text.strip() for text in columns[header.index(target)]]
    missing = np.array([text.lower() in MISSING_VALUES for text in texts])[:, None]
    if missing.any():
        raise DatasetError(
            _bad_cells_message(name, [texts], missing, [target], lines)
            + "\nEvery row needs a target value: drop those rows."
        )
    target_values, target_bad = _parse_numbers([texts])
    numeric = not target_bad.any()
    t = target_values[:, 0]
    if task == "auto":
        integral = numeric and bool(np.all(t == np.round(t)))
        few = numeric and np.unique(t).size <= MAX_AUTO_CLASSES
        task = "classification" if (not numeric or (integral and few)) else "regression"

    if task == "regression":
        if not numeric:
            raise DatasetError(
                _bad_cells_message(name, [texts], target_bad, [target], lines)
                + "\nRegression needs numeric targets; for labels use task='classification'."
            )
        return Table(
            X,
            t.astype(np.float32),
            tuple(features),
            target,
            None,
            "regression",
            source_columns,
            categories,
        )

    # Classification: sort numerically when every label is a number ("2" before "10"),
    # and name each class by the text of its first occurrence.
    keys = t if numeric else np.asarray(texts)
    _, first, y = np.unique(keys, return_index=True, return_inverse=True)
    class_names = tuple(texts[i] for i in first)
    return Table(
        X,
        y.astype(np.int64).ravel(),
        tuple(features),
        target,
        class_names,
        task,
        source_columns,
        categories,
    )
