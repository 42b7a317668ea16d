"""Property-based tests of the lab's request validation (issue 18).

Whatever JSON a request carries, the checks return a value of the documented kind or raise a
422 `LabError`; the routes answer 2xx or a 4xx with a JSON error, never a 5xx.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.lab import validation
from glassnet.lab.replies import LabError

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
# lists of numbers, sometimes ragged, sometimes deeper: the shapes `numbers` must sort out
number_lists = st.recursive(
    st.lists(st.integers(-(2**65), 2**65) | st.floats(width=64), max_size=6),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=30,
)


def _refused(call, *args) -> LabError | None:
    try:
        call(*args)
    except LabError as error:
        assert error.status == 422 and error.message, error
        return error
    return None


@given(json_values | number_lists)
def test_numbers_returns_finite_floats_or_a_422(value):
    try:
        array = validation.numbers(value, "input")
    except LabError as error:
        assert error.status == 422 and error.message.startswith("input ")
        return
    assert array.dtype == np.float64 and np.isfinite(array).all()
    assert array.tolist() == np.asarray(value, dtype=np.float64).tolist()


@given(json_values, st.integers(-5, 5) | st.none(), st.integers(-5, 5) | st.none())
def test_whole_number_accepts_exactly_ints_in_range(value, low, high):
    error = _refused(validation.whole_number, value, "epochs", low, high)
    in_range = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (low is None or value >= low)
        and (high is None or value <= high)
    )
    assert (error is None) == in_range


@given(
    st.integers(0, 1100),
    st.integers(0, 1100),
    st.integers(-2, 2),
    st.booleans(),
)
def test_packed_drawings_need_the_right_size_and_base64(width, height, extra, corrupt):
    size = max(0, width * height + extra) if width * height < 200_000 else 0
    data = base64.b64encode(bytes(size)).decode()
    if corrupt:
        data = "*" + data
    value = {"width": width, "height": height, "data": data}
    error = _refused(validation.drawing, value)
    fits = 28 <= width <= 1024 and 28 <= height <= 1024
    valid = fits and extra == 0 and not corrupt and width * height < 200_000
    assert (error is None) == valid, (width, height, extra, corrupt, error)


@given(json_values)
def test_drawing_of_any_json_is_a_2d_uint8_range_or_a_422(value):
    try:
        array = validation.drawing(value)
    except LabError as error:
        assert error.status == 422
        return
    assert array.ndim == 2 and 28 <= min(array.shape) and max(array.shape) <= 1024
    assert array.min() >= 0 and array.max() <= 255


request_bodies = st.dictionaries(
    st.sampled_from(["image", "input", "layer", "index", "other"]), json_values, max_size=4
)


@pytest.mark.parametrize("route", ["/api/predict", "/api/neuron"])
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=request_bodies | json_values)
def test_any_json_body_gets_an_answer_or_a_4xx_json_error_never_a_5xx(client, route, body):
    answer = client.post(route, json=body)
    if answer.status_code >= 400:
        assert answer.status_code < 500, (body, answer.text)
        assert answer.json()["error"]
    else:
        assert answer.status_code == 200 and isinstance(answer.json(), dict)
