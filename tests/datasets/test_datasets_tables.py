"""load_csv: classification and regression targets, and errors that point at the cell."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glassnet.datasets import DatasetError, DatasetNotFoundError, load_csv


def write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


IRIS_LIKE = """sepal_length,sepal_width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9, 3.0 ,setosa

6.4,3.2,versicolor
"""


def test_classification_with_string_labels(tmp_path):
    table = load_csv(write(tmp_path, IRIS_LIKE), target="species")
    assert table.task == "classification"
    assert table.X.dtype == np.float32 and table.X.shape == (5, 2)
    np.testing.assert_array_equal(table.X[3], np.float32([4.9, 3.0]))  # spaces stripped
    assert table.class_names == ("setosa", "versicolor", "virginica")
    assert table.y.dtype == np.int64
    assert table.y.tolist() == [0, 1, 2, 0, 1]
    assert table.feature_names == ("sepal_length", "sepal_width")
    assert table.target_name == "species"
    assert table.decode(table.y).tolist() == [
        "setosa",
        "versicolor",
        "virginica",
        "setosa",
        "versicolor",
    ]
    assert table.decode(np.array([[2, 0]])).shape == (1, 2)


def test_numeric_labels_sort_numerically(tmp_path):
    text = "x,label\n" + "".join(f"{i},{c}\n" for i, c in enumerate([10, 2, 2, 10, 1]))
    table = load_csv(write(tmp_path, text), target="label")
    assert table.task == "classification"
    assert table.class_names == ("1", "2", "10")
    assert table.y.tolist() == [2, 1, 1, 2, 0]


def test_regression_target_is_float32(tmp_path):
    text = "rooms,area,price\n3,70.5,210.25\n4,90,300.5\n2,40,150\n5,120,410.75\n"
    table = load_csv(write(tmp_path, text), target="price")
    assert table.task == "regression"
    assert table.class_names is None
    assert table.y.dtype == np.float32
    np.testing.assert_allclose(table.y, [210.25, 300.5, 150, 410.75])
    with pytest.raises(DatasetError, match="task='regression'"):
        table.decode([0])


def test_explicit_task_overrides_auto(tmp_path):
    text = "x,y\n1,0\n2,1\n3,1\n"
    assert load_csv(write(tmp_path, text), target="y").task == "classification"
    table = load_csv(write(tmp_path, text), target="y", task="regression")
    assert table.task == "regression" and table.y.tolist() == [0.0, 1.0, 1.0]


def test_features_select_and_order_columns(tmp_path):
    text = "a,b,name,c,t\n1,2,x,3,0\n4,5,y,6,1\n"
    table = load_csv(write(tmp_path, text), target="t", features=["c", "a"])
    assert table.feature_names == ("c", "a")
    assert table.X.tolist() == [[3.0, 1.0], [6.0, 4.0]]


def test_delimiter_and_bom(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_bytes("\ufeffa;b;t\n1,5;2;yes\n3;4;no\n".replace("1,5", '"1.5"').encode("utf-8"))
    table = load_csv(path, target="t", delimiter=";")
    assert table.feature_names == ("a", "b")
    assert table.X[0].tolist() == [1.5, 2.0]


def test_missing_cell_names_line_and_column(tmp_path):
    text = "a,b,t\n1,2,x\n3,,y\n5,6,x\n"
    with pytest.raises(DatasetError) as info:
        load_csv(write(tmp_path, text), target="t")
    message = str(info.value)
    assert "line 3, column 'b': '' (missing)" in message
    assert "header as line 1" in message
    assert "data.csv" in message
    # Blank lines are skipped but still counted, so the number matches an editor's.
    with pytest.raises(DatasetError, match="line 4, column 'b'"):
        load_csv(write(tmp_path, "a,b,t\n1,2,x\n\n3,,y\n"), target="t")


def test_non_numeric_cells_are_listed_up_to_five(tmp_path):
    rows = "".join(f"{i},{'abc' if i % 2 else i},z\n" for i in range(20))
    with pytest.raises(DatasetError) as info:
        load_csv(write(tmp_path, "a,b,t\n" + rows), target="t")
    message = str(info.value)
    assert "10 missing or non-numeric cell(s) (showing the first 5)" in message
    assert "line 3, column 'b': 'abc' (not a number)" in message  # row i=1 is line 3
    assert "line 11, column 'b'" in message  # i=9, the fifth
    assert "line 13" not in message  # i=11, the sixth, not shown
    assert "features=[...]" in message


def test_text_feature_column_is_reported(tmp_path):
    with pytest.raises(DatasetError, match=r"column 'color': 'red' \(not a number\)"):
        load_csv(write(tmp_path, "size,color,t\n1,red,a\n2,blue,b\n"), target="t")


def test_nan_and_overflow_count_as_bad(tmp_path):
    with pytest.raises(DatasetError, match=r"'NA' \(missing\)"):
        load_csv(write(tmp_path, "a,t\nNA,1\n2,0\n"), target="t")
    with pytest.raises(DatasetError, match=r"'1e40' \(not finite in float32\)"):
        load_csv(write(tmp_path, "a,t\n1e40,1\n2,0\n"), target="t")


def test_missing_target_cell_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match=r"(?s)line 3, column 't': ''.*drop those rows"):
        load_csv(write(tmp_path, "a,t\n1,x\n2,\n"), target="t")


def test_regression_with_text_target_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match=r"(?s)'high' \(not a number\).*task='classification'"):
        load_csv(write(tmp_path, "a,t\n1,2.5\n2,high\n"), target="t", task="regression")


def test_unknown_target_lists_columns(tmp_path):
    with pytest.raises(DatasetError, match=r"\['a', 'b', 'label'\], got target='lable'"):
        load_csv(write(tmp_path, "a,b,label\n1,2,x\n"), target="lable")


def test_unknown_feature_and_bad_task(tmp_path):
    path = write(tmp_path, "a,b,t\n1,2,x\n")
    with pytest.raises(DatasetError, match=r"unknown \['z'\]"):
        load_csv(path, target="t", features=["a", "z"])
    with pytest.raises(DatasetError, match="also listed in features"):
        load_csv(path, target="t", features=["a", "t"])
    with pytest.raises(DatasetError, match="task="):
        load_csv(path, target="t", task="clustering")


def test_ragged_row_empty_file_and_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="expected 3 fields.*got 2 on line 3"):
        load_csv(write(tmp_path, "a,b,t\n1,2,x\n3,y\n"), target="t")
    with pytest.raises(DatasetError, match="empty file"):
        load_csv(write(tmp_path, ""), target="t")
    with pytest.raises(DatasetError, match="data lines"):
        load_csv(write(tmp_path, "a,t\n"), target="t")
    with pytest.raises(DatasetNotFoundError, match="nope.csv: no such file"):
        load_csv(tmp_path / "nope.csv", target="t")
    with pytest.raises(DatasetError, match=r"duplicates \['a'\]"):
        load_csv(write(tmp_path, "a,a,t\n1,2,x\n"), target="t")


def test_class_names_are_json_serialisable(tmp_path):
    table = load_csv(write(tmp_path, IRIS_LIKE), target="species")
    assert json.loads(json.dumps(table.class_names)) == list(table.class_names)
