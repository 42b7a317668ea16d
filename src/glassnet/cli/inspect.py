"""``glassnet inspect``: a model's summary, or one neuron's weights, bias, z and a written out."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

import glassnet as gn
from glassnet import inspect as looking

from .application import STATE, UserError, guarded, printable
from .inputs import read_inputs
from .options import check_number
from .runs import load_model


@guarded
def inspect(
    model_path: Annotated[str, typer.Argument(metavar="MODEL", help="Model file or run dir.")],
    layer: Annotated[
        str | None,
        typer.Option(help="Layer of neurons: 0 is the first hidden layer, or a name like dense_1."),
    ] = None,
    neuron: Annotated[int | None, typer.Option(help="Neuron index in that layer.")] = None,
    input_path: Annotated[
        str | None,
        typer.Option(
            "--input", help="An input (image, .npy, CSV) to compute the neuron's z and a for."
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="Conv layers: the output position I,J of filter --neuron (needs --input), "
            "e.g. --layer conv2d_0 --neuron 3 --at 5,7."
        ),
    ] = None,
) -> None:
    """The model's summary; with --layer and --neuron, one neuron's numbers written out."""
    model = load_model(model_path)
    if at is not None:
        _conv_unit(model, layer, neuron, at, input_path)
        return
    if layer is None and neuron is None:
        if STATE.json:
            STATE.emit(
                {
                    "event": "summary",
                    "config": model.get_config(),
                    "parameters": model.n_parameters,
                    "class_names": model.class_names,
                }
            )
        else:
            print(model.summary())
        return
    if layer is None or neuron is None:
        raise UserError("Give both --layer and --neuron to inspect a neuron.")
    check_number(neuron, "neuron", 0, None)
    which: int | str = int(layer) if layer.lstrip("-").isdigit() else layer
    names = [la.name for la in model.layers if isinstance(la, gn.Dense)]
    if isinstance(which, int) and not 0 <= which < len(names):
        raise UserError(
            f"--layer must be a whole number from 0 to {len(names) - 1} (this model has "
            f"{len(names)} layers of neurons) or a name among {names}, got {which}."
        )
    if isinstance(which, str) and which not in [la.name for la in model.layers]:
        raise UserError(
            f"--layer {printable(which)!r} is not a layer of this model; it has {names}."
        )
    x = read_inputs(model, [input_path])[0][0] if input_path else None
    cell = model.neuron(which, neuron, x)
    w = cell.weights
    strongest = np.argsort(-np.abs(w), kind="stable")[:5]
    record = {
        "layer": cell.layer,
        "neuron": cell.index,
        "activation": cell.activation,
        "bias": cell.bias,
        "weights": {
            "count": int(w.size),
            "min": float(w.min()),
            "max": float(w.max()),
            "mean": float(w.mean()),
            "std": float(w.std()),
            "norm": float(np.linalg.norm(w)),
        },
        "strongest": [{"input": int(i), "weight": float(w[i])} for i in strongest],
    }
    if cell.z is not None:
        record.update(z=cell.z, a=cell.a)
    if STATE.json:
        STATE.emit(record)
        return
    stats = record["weights"]
    print(f"{cell.layer} neuron {cell.index} ({cell.activation})")
    print(f"bias b = {cell.bias:.6g}")
    print(
        f"{stats['count']} incoming weights: min {stats['min']:.4g}, max {stats['max']:.4g}, "
        f"mean {stats['mean']:.4g}, std {stats['std']:.4g}, ‖w‖ {stats['norm']:.4g}"
    )
    print(
        "strongest: "
        + ", ".join(f"w[{s['input']}] = {s['weight']:.4g}" for s in record["strongest"])
    )
    if cell.z is not None:
        print(cell.formula())


def _conv_unit(
    model: gn.Sequential, layer: str | None, filter: int | None, at: str, input_path: str | None
) -> None:
    """One unit of a conv layer: filter ``filter`` at ``at`` = "i,j", for an input."""
    if layer is None or filter is None or input_path is None:
        raise UserError("Give --layer, --neuron (the filter) and --input with --at I,J.")
    try:
        i, j = (int(part) for part in at.split(","))
    except ValueError:
        raise UserError(f"--at must be a position I,J such as 5,7, got {at!r}.") from None
    which: int | str = int(layer) if layer.lstrip("-").isdigit() else layer
    x = read_inputs(model, [input_path])[0][0]
    try:
        unit = looking.conv_unit(model, which, filter, i, j, x)
    except (KeyError, IndexError) as error:
        raise UserError(str(error).strip("'\"")) from None
    if STATE.json:
        STATE.emit(
            {
                "layer": unit.layer,
                "filter": unit.filter,
                "position": [unit.i, unit.j],
                "rows": [unit.rows.start, unit.rows.stop - 1],
                "columns": [unit.columns.start, unit.columns.stop - 1],
                "kernel": unit.kernel.tolist(),
                "window": unit.window.tolist(),
                "bias": unit.bias,
                "z": unit.z,
                "activation": unit.activation,
                "a": unit.a,
            }
        )
        return
    print(unit.formula())
