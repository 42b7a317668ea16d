"""The lab's requests, declared: one pydantic model per JSON body, published in /openapi.json.

The bodies are read by `guard.read_json` (content type, size, nesting, finite numbers) and
checked field by field by the routes against the model being served (its input size, columns),
with the messages the page shows. These models declare the same shapes and limits for the
schema (``/openapi.json``, ``/docs``), so that a fuzzer (Schemathesis, in the test suite) can
generate requests for every endpoint; `check` applies one where the declaration is the whole
check (the empty bodies of the state-changing endpoints without settings).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .replies import LabError

Side = Annotated[int, Field(ge=1, le=1024)]


class Strict(BaseModel):
    """No unknown keys (the routes name them in their answer)."""

    model_config = ConfigDict(extra="forbid")


class Drawing(Strict):
    width: Annotated[int, Field(ge=28, le=1024)]
    height: Annotated[int, Field(ge=28, le=1024)]
    data: str = Field(description="base64 of width × height ink levels 0–255, row by row")


class Picture(Strict):
    width: Side
    height: Side
    channels: Literal[1, 3] = 1
    data: str = Field(description="base64 of the pixels' bytes, row by row")


Numbers = list[float] | list[list[float]]
Row = dict[str, float | Annotated[str, Field(max_length=200)]]


class PredictRequest(Strict):
    """One input: a drawing, an uploaded picture, a table row by column name, or numbers."""

    image: Drawing | list[list[Annotated[float, Field(ge=0, le=255)]]] | None = None
    picture: Picture | None = None
    row: Row | None = None
    input: Numbers | None = None


class NeuronRequest(PredictRequest):
    layer: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)]


class TrainRequest(Strict):
    dataset: Literal["mnist", "fashion-mnist"] = "mnist"
    hidden: (
        Literal["current"]
        | Annotated[list[Annotated[int, Field(ge=1, le=1024)]], Field(max_length=6)]
        | None
    ) = None
    activation: Literal["sigmoid", "tanh", "relu", "leaky_relu"] = "sigmoid"
    optimizer: str = "adam"
    learning_rate: Annotated[float, Field(gt=0, le=10)] = 0.005
    epochs: Annotated[int, Field(ge=1, le=100)] = 5
    samples: Annotated[int, Field(ge=100, le=100_000)] = 10_000
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = 0
    arch: (
        Annotated[
            str,
            Field(
                max_length=200,
                description="CNN layers such as conv8-pool-dense32 (a new CNN; hidden ignored)",
            ),
        ]
        | None
    ) = None


class ConvMapsRequest(PredictRequest):
    """One input for the CNN view: its feature maps, layer by layer."""


class ConvUnitRequest(PredictRequest):
    """One number of one layer's maps: ``layer`` indexes the model's layers (as in
    ``/api/conv/maps``), ``channel`` the map, ``(i, j)`` the position."""

    layer: Annotated[int, Field(ge=0)]
    channel: Annotated[int, Field(ge=0)]
    i: Annotated[int, Field(ge=0)]
    j: Annotated[int, Field(ge=0)]


Label = Annotated[int, Field(ge=0)] | list[float]


class BackwardRequest(Strict):
    """One labelled input for the backward view."""

    image: Drawing | list[list[Annotated[float, Field(ge=0, le=255)]]] | None = None
    input: Numbers | None = None
    label: Label


class ExplainRequest(BackwardRequest):
    parameter: str = Field(description='e.g. "dense_1.W" or "dense_1.b"')
    index: list[Annotated[int, Field(ge=0)]] | Annotated[int, Field(ge=0)]


class StepNeuron(Strict):
    layer: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)]


class StepsStart(Strict):
    session: Literal["digits", "toy"] = "digits"
    dataset: str | None = None
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=1024)]], Field(max_length=6)] | None = None
    activation: Literal["sigmoid", "tanh", "relu", "leaky_relu"] | None = None
    optimizer: str | None = None
    learning_rate: Annotated[float, Field(gt=0, le=10)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=4096)] | None = None
    samples: Annotated[int, Field(ge=1, le=20_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None


class StepsStep(Strict):
    session: Literal["digits", "toy"] = "digits"
    n: Annotated[int, Field(ge=1, le=50)] = 1
    neuron: StepNeuron | None = None


class StepsUndo(Strict):
    session: Literal["digits", "toy"] = "digits"
    neuron: StepNeuron | None = None


class HealthCompare(Strict):
    dataset: Literal["mnist", "fashion-mnist"] = "mnist"
    samples: Annotated[int, Field(ge=100, le=10_000)] = 2000


class Empty(Strict):
    """An empty object ``{}``: the endpoint changes state, so it takes JSON only."""


class SaveRequest(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    overwrite: bool = False


class LoadRequest(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def check(model: type[BaseModel], data: dict[str, Any]) -> None:
    """Refuse a body that does not match its declaration: a 422 naming the first problem.

    Only the shape is checked here; the routes then check the values against the model being
    served (its input size, its columns) and give the page their own messages.
    """
    try:
        model.model_validate(data, strict=False)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise LabError(422, f"{where}: {first['msg']}.") from None


def path_parameters(*names: str) -> dict[str, Any]:
    """The OpenAPI ``parameters`` of a route's path (its handler checks the values itself)."""
    return {
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in names
        ]
    }


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route whose JSON body ``model`` declares."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
