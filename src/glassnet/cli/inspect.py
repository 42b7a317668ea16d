"""``glassnet inspect``: a model's summary, or one neuron's weights, bias, z and a written out."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

import glassnet as gn

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
) -> None:
    """The model's summary; with --layer and --neuron, one neuron's numbers written out."""
    model = load_model(model_path)
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
