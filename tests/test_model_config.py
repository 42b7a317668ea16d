"""``glassnet train --arch model.toml``: a TOML model config listing the layers (issue 11).

Trained on the real MNIST test set (split 1,000/500 here); bad files are each one ``error:``
line, exit 1, nothing written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("typer")

import glassnet as gn  # noqa: E402
from cli_runs import invoke as run  # noqa: E402
from digit_data import mnist_folder  # noqa: E402
from glassnet import datasets  # noqa: E402
from glassnet.cli.architecture import build_from_model_config  # noqa: E402

LENET_ISH = """
# a small LeNet: every layer listed, the output layer too
[[layers]]
type = "Conv2D"
n_filters = 6
kernel_size = 5
padding = 2

[[layers]]
type = "ReLU"

[[layers]]
type = "MaxPool2D"

[[layers]]
type = "Conv2D"
n_filters = 8
kernel_size = [3, 3]
stride = 2

[[layers]]
type = "ReLU"

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
n_neurons = 32
name = "hidden"

[[layers]]
type = "ReLU"

[[layers]]
type = "Dense"
n_neurons = 10
"""


@pytest.fixture(scope="module")
def digits_dir(mnist_dir, tmp_path_factory) -> Path:
    """An MNIST folder of real test-set digits: 1,000 to train on, 500 to test."""
    return mnist_folder(mnist_dir, tmp_path_factory.mktemp("data"), 1000, 9500)


def train(digits_dir: Path, config: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        "--json", "train", "mnist", "--data-dir", str(digits_dir), "--arch", str(config),
        "--out", str(out), "--epochs", "2", "--seed", "0", *extra,
    )  # fmt: skip


@pytest.mark.slow  # two epochs on 1,000 real digits, with the run's pictures: ~10 s
def test_a_toml_model_config_trains_the_layers_it_lists(digits_dir, tmp_path):
    config = tmp_path / "lenet.toml"
    config.write_text(LENET_ISH)
    code, stdout, stderr = train(digits_dir, config, tmp_path / "run")
    assert code == 0, stderr
    done = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")][-1]
    assert done["event"] == "done"
    model = gn.load(tmp_path / "run" / "model.glassnet")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "Flatten", "Dense"] + [
        "ReLU",
        "Dense",
    ]
    first, second = model.layers[0], model.layers[3]
    assert (first.n_channels, first.kernel_size, first.padding) == (1, (5, 5), (2, 2, 2, 2))
    assert (second.n_channels, second.stride) == (6, (2, 2))  # filled from the previous layer
    assert model.layers[6].name == "hidden" and model.layers[6].n_inputs == 8 * 6 * 6
    assert model.input_shape == (1, 28, 28) and model.output_shape == (10,)
    # it learned: far above the 10 % of guessing on the 500 held-out digits
    images = datasets.read_idx(digits_dir / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = datasets.read_idx(digits_dir / "mnist" / "t10k-labels-idx1-ubyte.gz")
    X = images.reshape(-1, 1, 28, 28).astype("float32") / 255
    assert (model.predict(X) == labels).mean() > 0.6


def test_a_toml_config_builds_an_mlp_for_a_table(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{(i % 7) > 3}\n" for i in range(60)))
    config = tmp_path / "mlp.toml"
    config.write_text(
        '[[layers]]\ntype = "Dense"\nn_neurons = 8\n\n[[layers]]\ntype = "Tanh"\n\n'
        '[[layers]]\ntype = "Dense"\nn_neurons = 1\n'
    )
    out = tmp_path / "run"
    code, _, stderr = run(
        "train", str(table), "--target", "y", "--arch", str(config), "--out", str(out)
    )
    assert code == 0, stderr
    model = gn.load(out / "model.glassnet")
    assert [layer.n_inputs for layer in model.layers[::2]] == [2, 8]


BAD_CONFIGS = {
    "not toml": ("[[layers]\ntype = ", "is not valid TOML"),
    "no layers": ('name = "net"\n', "found unknown settings ['name']"),
    "empty": ("", "found no [[layers]] tables"),
    "no type": ("[[layers]]\nn_filters = 3\n", "layer 1 needs a type"),
    "unknown type": ('[[layers]]\ntype = "Conv3D"\n', "has type 'Conv3D'; expected one of"),
    "unknown option": (
        '[[layers]]\ntype = "Conv2D"\nn_filters = 4\nfilters = 4\n',
        "layer 1 (Conv2D) has unknown options ['filters']",
    ),
    "option of the wrong kind": (
        '[[layers]]\ntype = "Conv2D"\nn_filters = 4\nkernel_size = "3"\n',
        "has kernel_size='3'; expected",
    ),
    "missing required option": ('[[layers]]\ntype = "Conv2D"\n', "lacks the required options"),
    "kernel larger than the image": (
        '[[layers]]\ntype = "Conv2D"\nn_filters = 4\nkernel_size = 40\n',
        "larger than its padded input 28×28",
    ),
    "channels that do not chain": (
        '[[layers]]\ntype = "Conv2D"\nn_channels = 3\nn_filters = 4\nkernel_size = 3\n',
        "layer 1 (Conv2D) does not fit",
    ),
    "dense on images": (
        '[[layers]]\ntype = "Dense"\nn_neurons = 10\n',
        "gets (1, 28, 28) per sample; a Dense layer takes flat vectors: put a layer of type",
    ),
    "absurd size": (
        '[[layers]]\ntype = "Flatten"\n\n[[layers]]\ntype = "Dense"\nn_neurons = 2000000\n',
        "parameters; glassnet train builds at most",
    ),
    "wrong number of outputs": (
        '[[layers]]\ntype = "Flatten"\n\n[[layers]]\ntype = "Dense"\nn_neurons = 7\n',
        "the last layer gives (7,) per sample, but the data needs 10 outputs",
    ),
    "two layers of one name": (
        '[[layers]]\ntype = "Flatten"\nname = "x"\n\n[[layers]]\ntype = "Dense"\n'
        'n_neurons = 10\nname = "x"\n',
        "--arch",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_model_config_is_one_error_line_and_writes_nothing(case, digits_dir, tmp_path):
    text, message = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "run"
    code, _, stderr = train(digits_dir, config, out)
    assert code == 1
    assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) == 1, stderr
    assert message in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_a_missing_model_config_names_the_file(digits_dir, tmp_path):
    code, _, stderr = train(digits_dir, tmp_path / "nowhere.toml", tmp_path / "run")
    assert code == 1 and "nowhere.toml: no such model config file" in stderr


def test_the_readme_model_config_builds_lenet_for_mnist(tmp_path):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"```toml\n(# lenet\.toml.*?)```", text, flags=re.S)
    assert block is not None
    config = tmp_path / "lenet.toml"
    config.write_text(block.group(1))
    model = build_from_model_config(str(config), (1, 28, 28), 10, "softmax", 0)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Flatten",
        "Dense",
    ]
    assert model.layers[0].padding == (2, 2, 2, 2) and model.output_shape == (10,)
