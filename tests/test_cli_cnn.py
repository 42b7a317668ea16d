"""Convolutional networks from the command line (issue 11), on real images.

The "photo folder" is made of real Fashion-MNIST pictures saved as RGB PNG files in class
sub-folders (sneakers/ and bags/), the way a user's cats/ and dogs/ would be laid out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import glassnet as gn  # noqa: E402
from cli_runs import invoke as run  # noqa: E402
from glassnet import datasets  # noqa: E402
from glassnet.cli.application import UserError  # noqa: E402
from glassnet.cli.architecture import build_cnn, describe  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """120 real pictures per class as 24×24 RGB PNGs, tinted so that the colour matters."""
    if not (FASHION / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Fashion-MNIST is not installed")
    images = datasets.read_idx(FASHION / "t10k-images-idx3-ubyte.gz")
    labels = datasets.read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")
    root = tmp_path_factory.mktemp("photos")
    for name, label, tint in (("sneakers", 7, (1.0, 0.8, 0.6)), ("bags", 8, (0.6, 0.8, 1.0))):
        folder = root / name
        folder.mkdir()
        for k, image in enumerate(images[labels == label][:120]):
            rgb = (image[:, :, None] * np.array(tint)).astype(np.uint8)
            Image.fromarray(rgb, "RGB").resize((24, 24)).save(folder / f"{name}_{k}.png")
    return root


@pytest.fixture(scope="module")
def photo_run(photo_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "photos"
    code, stdout, stderr = run(
        "--json",
        "train",
        str(photo_folder),
        "--image-size",
        "24x24",
        "--color",
        "rgb",
        "--epochs",
        "3",
        "--out",
        str(out),
    )
    assert code == 0, stderr
    done = json_lines(stdout)[-1]
    assert done["architecture"] == "augflip-conv16-pool-conv32-pool-dense64-dense1"
    return out


@pytest.mark.slow
@needs_fashion
def test_an_image_folder_trains_a_cnn_with_augmentation_by_default(photo_run):
    model = gn.load(photo_run / "model.glassnet")
    assert model.input_shape == (3, 24, 24)
    assert isinstance(model.layers[0], gn.Augment) and model.layers[0].horizontal_flip
    assert model.class_names == ["bags", "sneakers"]
    metrics = json.loads((photo_run / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95  # sneakers and bags are easy to tell apart
    for picture in ("filters.png", "feature_maps.png", "curves.png", "confusion.png"):
        assert (photo_run / picture).stat().st_size > 1000, picture


@pytest.mark.slow
@needs_fashion
def test_predict_evaluate_and_inspect_work_on_a_cnn(photo_run, photo_folder):
    picture = sorted((photo_folder / "bags").iterdir())[0]
    code, stdout, _ = run("--json", "predict", str(photo_run), str(picture))
    assert code == 0
    (result,) = json_lines(stdout)
    assert result["name"] == "bags"
    code, stdout, _ = run("--json", "evaluate", str(photo_run), str(photo_folder))
    assert code == 0 and json_lines(stdout)[0]["accuracy"] >= 0.95
    code, stdout, _ = run(
        "inspect",
        str(photo_run),
        "--layer",
        "conv2d_0",
        "--neuron",
        "2",
        "--at",
        "4,5",
        "--input",
        str(picture),
    )
    assert code == 0
    assert "conv2d_0 filter 2 at (4, 5), rows 4–6, columns 5–7" in stdout
    assert "z = Σ K·x + b" in stdout and "a = relu(z)" in stdout
    code, stdout, _ = run("inspect", str(photo_run))
    assert code == 0 and "Conv2D" in stdout and "16×22×22" in stdout


def test_arch_specs_build_the_layers_they_name():
    model = build_cnn("conv32-pool-conv64-pool-dense128", (1, 28, 28), 10, "softmax", "relu", 0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Flatten",
        "Dense",
        "ReLU",
        "Dense",
    ]
    assert model.output_shape == (10,) and model.n_parameters == 225_034  # cnn2
    lenet = build_cnn(
        "conv6k5same-pool-conv16k5-pool-dense120-dense84", (1, 28, 28), 10, "softmax", "relu", 0
    )
    assert describe(lenet) == "conv6k5-pool-conv16k5-pool-dense120-dense84-dense10"
    assert lenet.shape_after(6) == (16, 5, 5)
    bn = build_cnn("aug-conv8-bn-pool-gap", (1, 12, 12), 3, "softmax", "relu", 0)
    assert [type(la).__name__ for la in bn.layers][:4] == ["Augment", "Conv2D", "ReLU", "BatchNorm"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("conv32-pool-convx", "'convx' is not a layer"),
        ("conv32k40", "larger than its padded input 28×28"),
        ("dense10-conv4", "conv4 comes after the flatten"),
        ("conv4-aug", "aug must come first"),
    ],
)
def test_bad_arch_specs_are_one_clear_error(spec, message):
    with pytest.raises(UserError, match=message):
        build_cnn(spec, (1, 28, 28), 10, "softmax", "relu", 0)


def test_a_cnn_spec_on_a_table_is_one_clear_line(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    code, _, stderr = run("train", str(table), "--target", "y", "--arch", "conv8-dense4")
    assert code == 1
    assert stderr.strip().startswith("error:") and "needs images" in stderr
    assert "Traceback" not in stderr
