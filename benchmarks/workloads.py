"""What the benchmark trains: the data, the two workloads, and one trainer per framework.

Every trainer gets the same data (float32 in [0, 1], int64 labels), the same initial weights and
the same hyperparameters, and is written the way that framework's users write it. They share one
small interface, so the timing code in `measure.py` treats them alike:

- ``Trainer(workload, weights, seed)`` builds the network;
- ``train(X, y, epochs) -> list[float]`` trains and returns the wall time of each epoch;
- ``accuracy(X, y) -> float`` on held-out data;
- ``predictor(X) -> callable`` a zero-argument call that predicts class probabilities for X in
  the framework's own input type (for the latency and throughput figures).

Imported only after `run.py` has set the thread count, because BLAS reads it when it loads.
"""

from __future__ import annotations

import gzip
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}
SYSTEM_DIR = Path("/usr/share/datasets")  # Debian's dataset-fashion-mnist installs here
FASHION_MNIST = SYSTEM_DIR / "fashion-mnist"


# ---------------------------------------------------------------------------------------- data


def find_data(name: str, data_dir: Path | None) -> tuple[Path, str]:
    """The folder holding data set ``name`` ("fashion-mnist" or "mnist"), and who found it.

    glassnet's own `glassnet.datasets` searches its standard places (``data_dir``,
    ``$GLASSNET_DATA``, the user cache, system folders) without downloading; without it (an
    older glassnet), ``data_dir`` or the Debian folder is used. Raises FileNotFoundError with
    what to install.
    """
    try:
        from glassnet.datasets import DatasetError, load
    except ImportError:
        folder = data_dir if data_dir is not None else SYSTEM_DIR / name
        missing = [f for f in _FILES if _idx_path(folder, f) is None]
        if missing:
            raise FileNotFoundError(
                f"{folder} lacks {', '.join(missing)}. Install Fashion-MNIST with `apt-get "
                "install dataset-fashion-mnist`, or pass --data-dir to a folder holding the "
                "four MNIST-format files."
            ) from None
        return folder, "the benchmark's IDX reader"
    try:  # the small test split, just to learn where the files are
        found = Path(load(name, "test", data_dir=data_dir, download=False).source_path)
    except DatasetError as error:
        raise FileNotFoundError(str(error)) from None
    missing = [f for f in _FILES if _idx_path(found, f) is None]
    if missing:
        raise FileNotFoundError(f"{found} lacks {', '.join(missing)}.")
    return found, "glassnet.datasets"


_FILES = [f"{s}-{k}-ubyte" for s in ("train", "t10k") for k in ("images-idx3", "labels-idx1")]


def _idx_path(folder: Path, stem: str) -> Path | None:
    for path in (folder / f"{stem}.gz", folder / stem):
        if path.exists():
            return path
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not: magic, dimensions, uint8 data."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir: Path, split: str, limit: int | None = None):
    """Images of one split as float32 (n, 784) in [0, 1] and labels as int64 (n,).

    ``split`` is "train" or "t10k". Every framework, and every memory-measuring process, reads
    the data with this one small function (no framework is imported to read it). The scaling
    writes float32 directly (no float64 copy), as `glassnet.datasets` does.
    """
    arrays = []
    for kind in ("images-idx3", "labels-idx1"):
        path = _idx_path(data_dir, f"{split}-{kind}-ubyte")
        if path is None:
            raise FileNotFoundError(f"{data_dir} has no {split}-{kind}-ubyte(.gz)")
        arrays.append(read_idx(path))
    images, labels = arrays
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    X = np.multiply(images.reshape(len(images), -1), np.float32(1 / 255), dtype=np.float32)
    return X, labels.astype(np.int64)


# ---------------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    """One training configuration, run identically by every framework.

    The input and output sizes come from the data; ``hidden`` lists the hidden layers.
    """

    name: str
    hidden: tuple[int, ...]
    activation: str  # "sigmoid" or "relu", between the hidden layers
    batch_size: int
    optimizer: str  # "sgd" (with momentum) or "adam"
    learning_rate: float
    momentum: float
    epochs: int

    def sizes(self, n_inputs: int, n_classes: int) -> list[int]:
        return [n_inputs, *self.hidden, n_classes]

    def describe(self, n_inputs: int, n_classes: int) -> str:
        if self.optimizer == "sgd":
            opt = f"SGD (learning rate {self.learning_rate:g}, momentum {self.momentum:g})"
        else:
            opt = f"Adam (learning rate {self.learning_rate:g})"
        return (
            f"{'-'.join(map(str, self.sizes(n_inputs, n_classes)))}, {self.activation} hidden "
            f"layers, softmax cross-entropy, batch {self.batch_size}, {opt}, "
            f"{self.epochs} epoch{'s' * (self.epochs != 1)}"
        )


WORKLOADS = {
    "seed": Workload("seed", (16, 16), "sigmoid", 32, "sgd", 0.1, 0.9, epochs=5),
    "wide": Workload("wide", (512, 512), "relu", 128, "adam", 1e-3, 0.0, epochs=3),
}


def training_flops_per_sample(sizes: list[int]) -> int:
    """Matrix-multiply FLOPs to train on one sample (one multiply-add counts as 2).

    Each Dense layer (n_in → n_out) costs 2·n_in·n_out forward (x @ W), the same for dL/dW = xᵀ·g
    and the same again for dL/dx = g·Wᵀ — except in the first layer, whose input gradient no
    framework computes. So: 6·Σ n_in·n_out − 2·n_in₀·n_out₀. Elementwise work (bias, activations,
    loss, optimizer update) is not counted: the figure is a lower bound on the work done.
    """
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    return 6 * sum(products) - 2 * products[0]


def n_parameters(sizes: list[int]) -> int:
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))


def initial_weights(workload: Workload, sizes: list[int], seed: int):
    """The starting weights every framework copies: [(W (n_in, n_out), b (n_out,)), ...].

    Glorot uniform for sigmoid, He normal for ReLU, zero biases — glassnet's defaults, so the
    comparison measures the training loops, not the luck of the draw. (scikit-learn cannot be
    given weights through its public API and uses its own Glorot-style initialisation.)
    """
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        if workload.activation == "relu":
            W = rng.normal(0.0, math.sqrt(2.0 / n_in), (n_in, n_out))
        else:
            limit = math.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, (n_in, n_out))
        weights.append((W.astype(np.float32), np.zeros(n_out, np.float32)))
    return weights


# ---------------------------------------------------------------------------------- trainers


class Trainer:
    """The interface every framework implements (see the module docstring)."""

    key = ""
    label = ""
    imports: tuple[str, ...] = ()  # modules to load before measuring memory

    def __init__(self, workload: Workload, weights, seed: int) -> None:
        self.workload = workload
        self.seed = seed

    def train(self, X: np.ndarray, y: np.ndarray, epochs: int) -> list[float]:
        raise NotImplementedError

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def predictor(self, X: np.ndarray) -> Callable[[], object]:
        raise NotImplementedError

    @staticmethod
    def version() -> str:
        return ""

    def notes(self) -> dict[str, object]:
        """Facts worth recording about how the framework ran (dtype, implementation)."""
        return {}


class GlassnetTrainer(Trainer):
    """glassnet as its README shows it: `MLP`, then `fit`, timed by an epoch callback.

    Each `train` call continues the same training: same optimizer state, and the model's own
    shuffling generator (no ``seed`` is passed to `fit`, which would restart the shuffle).
    """

    key = "glassnet"
    label = "glassnet"
    imports = ("glassnet",)
    kernel = "auto"  # compiled numba kernels when installed (issue 12)

    def __init__(self, workload, weights, seed):
        super().__init__(workload, weights, seed)
        import glassnet as gn

        self.gn = gn
        sizes = [weights[0][0].shape[0]] + [W.shape[1] for W, _ in weights]
        self.model = gn.MLP(sizes, activation=workload.activation, seed=seed)
        for i, (W, b) in enumerate(weights):  # the shared starting point, written in place
            self.model.parameter(f"dense_{i}.W").value[...] = W
            self.model.parameter(f"dense_{i}.b").value[...] = b
        params = self.model.parameters()
        if workload.optimizer == "sgd":
            self.optimizer = gn.SGD(
                params,
                learning_rate=workload.learning_rate,
                momentum=workload.momentum,
                kernel=self.kernel,
            )
        else:
            self.optimizer = gn.Adam(
                params, learning_rate=workload.learning_rate, kernel=self.kernel
            )
        self.fit_call_seconds: list[float] = []
        self.step = "not run"

    def train(self, X, y, epochs):
        timer = _epoch_timer(self.gn.Callback)()
        start = time.perf_counter()
        self.model.fit(
            X,
            y,
            epochs=epochs,
            batch_size=self.workload.batch_size,
            optimizer=self.optimizer,
            shuffle=True,
            callbacks=[timer],
            kernel=self.kernel,
        )
        self.fit_call_seconds.append(time.perf_counter() - start)  # with fit's input checks
        self.step = timer.step
        return timer.seconds

    def accuracy(self, X, y):
        return float(self.model.evaluate(X, y)["accuracy"])

    def predictor(self, X):
        model = self.model
        return lambda: model.predict_proba(X)

    @staticmethod
    def version():
        import glassnet

        return glassnet.__version__

    def notes(self):
        return {
            "dtype": str(self.model.dtype),
            "fit_call_seconds": self.fit_call_seconds,
            "kernel": self.optimizer.kernel,  # the path "auto" took: "numba" or "numpy"
            # fit's step: one compiled call per batch (glassnet.train.fused), or layer by layer
            "step": self.step,
        }


class GlassnetNumpyTrainer(GlassnetTrainer):
    """glassnet on its NumPy path (``kernel="numpy"``): what a machine without numba runs."""

    key = "glassnet-numpy"
    label = "glassnet, NumPy path"
    kernel = "numpy"


def _epoch_timer(base: type) -> type:
    """A glassnet Callback subclass that records each epoch's wall time."""

    class EpochTimer(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self._start = 0.0
            self.step = "not run"

        def on_train_begin(self, logs):
            run = self.model.current_fit
            if run.fused is not None:
                self.step = "compiled, one call a batch"
            elif getattr(run, "chain", None) is not None:  # (an older glassnet has none)
                self.step = "chain: NumPy's products, compiled passes between them"
            else:
                self.step = "layer by layer"

        def on_epoch_begin(self, epoch, logs):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer


class NumpyTrainer(Trainer):
    """The same math as a bare, hand-tuned NumPy loop: the floor a NumPy library can reach.

    No checks, no loss value, no callbacks; buffers reused where NumPy allows. It is a reference
    for glassnet's own overhead, not a peer a user would pick.
    """

    key = "numpy"
    label = "bare NumPy loop (reference)"

    def __init__(self, workload, weights, seed):
        super().__init__(workload, weights, seed)
        sizes = [weights[0][0].shape[0]] + [W.shape[1] for W, _ in weights]
        total = n_parameters(sizes)
        self.values = np.empty(total, np.float32)
        self.grads = np.zeros(total, np.float32)
        self.W, self.b, self.gW, self.gb = [], [], [], []
        offset = 0
        for W, b in weights:
            for source, values, grads in ((W, self.W, self.gW), (b, self.b, self.gb)):
                end = offset + source.size
                view = self.values[offset:end].reshape(source.shape)
                view[...] = source
                values.append(view)
                grads.append(self.grads[offset:end].reshape(source.shape))
                offset = end
        self.m = np.zeros_like(self.values)  # momentum velocity, or Adam's first moment
        self.v = np.zeros_like(self.values)  # Adam's second moment
        self.scratch = np.empty_like(self.values)
        self.t = 0
        self.rng = np.random.default_rng(seed)

    def _forward(self, a):
        activations = [a]
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            z = a @ W
            z += b
            if i < last:
                if self.workload.activation == "relu":
                    np.maximum(z, 0.0, out=z)
                else:  # σ(z) = ½·tanh(z/2) + ½
                    z *= 0.5
                    np.tanh(z, out=z)
                    z *= 0.5
                    z += 0.5
            activations.append(z)
            a = z
        return activations

    def _step(self, xb, yb):
        acts = self._forward(xb)
        g = acts[-1]  # softmax − one-hot, over the batch: dL/dz of the mean cross-entropy
        g -= g.max(axis=1, keepdims=True)
        np.exp(g, out=g)
        g /= g.sum(axis=1, keepdims=True)
        g[np.arange(len(yb)), yb] -= 1.0
        g *= 1.0 / len(yb)
        for i in range(len(self.W) - 1, -1, -1):
            np.matmul(acts[i].T, g, out=self.gW[i])
            np.sum(g, axis=0, out=self.gb[i])
            if i:
                g = g @ self.W[i].T
                a = acts[i]
                if self.workload.activation == "relu":
                    g *= a > 0
                else:
                    g *= a
                    g *= 1.0 - a
        w, grad, m, v, s = self.values, self.grads, self.m, self.v, self.scratch
        lr = self.workload.learning_rate
        if self.workload.optimizer == "sgd":  # v ← μv + g; w ← w − lr·v
            m *= self.workload.momentum
            m += grad
            np.multiply(m, lr, out=s)
            w -= s
            return
        self.t += 1  # Adam, β₁ = 0.9, β₂ = 0.999, ε = 1e-8
        np.subtract(grad, m, out=s)
        s *= 0.1
        m += s
        np.square(grad, out=s)
        s -= v
        s *= 0.001
        v += s
        root = math.sqrt(1.0 - 0.999**self.t)
        np.sqrt(v, out=s)
        s += 1e-8 * root
        np.divide(m, s, out=s)
        s *= lr * root / (1.0 - 0.9**self.t)
        w -= s

    def train(self, X, y, epochs):
        seconds = []
        size = self.workload.batch_size
        for _ in range(epochs):
            start = time.perf_counter()
            order = self.rng.permutation(len(X))
            for first in range(0, len(X), size):
                rows = order[first : first + size]
                self._step(X[rows], y[rows])
            seconds.append(time.perf_counter() - start)
        return seconds

    def _proba(self, X):
        p = self._forward(X)[-1]
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        return p

    def accuracy(self, X, y):
        return float(np.mean(self._forward(X)[-1].argmax(axis=1) == y))

    def predictor(self, X):
        return lambda: self._proba(X)

    @staticmethod
    def version():
        return np.__version__

    def notes(self):
        return {"dtype": str(self.values.dtype)}


class TorchTrainer(Trainer):
    """PyTorch written the fast idiomatic way: index tensors by a shuffled permutation.

    ``nn.Sequential`` of ``Linear`` and activation modules, ``CrossEntropyLoss``, ``torch.optim``;
    per batch ``X[idx]``, no DataLoader, no ``loss.item()``.
    """

    key = "torch"
    label = "PyTorch eager"
    imports = ("torch", "torch.nn", "torch.optim", "torch.utils.data")

    def __init__(self, workload, weights, seed):
        super().__init__(workload, weights, seed)
        import torch
        from torch import nn

        self.torch = torch
        layers: list[nn.Module] = []
        for i, (W, b) in enumerate(weights):
            linear = nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T))  # PyTorch stores (out, in)
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if i < len(weights) - 1:
                layers.append(nn.ReLU() if workload.activation == "relu" else nn.Sigmoid())
        self.model = nn.Sequential(*layers)
        self.loss_fn = nn.CrossEntropyLoss()
        if workload.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(
                self.model.parameters(), lr=workload.learning_rate, momentum=workload.momentum
            )
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=workload.learning_rate)
        self.generator = torch.Generator().manual_seed(seed)

    def train(self, X, y, epochs):
        torch = self.torch
        X, y = torch.from_numpy(X), torch.from_numpy(y)  # shares the NumPy memory
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        size, n = self.workload.batch_size, len(X)
        model.train()
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            order = torch.randperm(n, generator=self.generator)
            for first in range(0, n, size):
                rows = order[first : first + size]
                loss = loss_fn(model(X[rows]), y[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            seconds.append(time.perf_counter() - start)
        return seconds

    def accuracy(self, X, y):
        torch = self.torch
        self.model.eval()
        with torch.inference_mode():
            predicted = self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
        return float(np.mean(predicted == y))

    def predictor(self, X):
        torch, model = self.torch, self.model
        model.eval()
        x = torch.from_numpy(X)

        def predict_proba():
            with torch.inference_mode():
                return torch.softmax(model(x), dim=1)

        return predict_proba

    @staticmethod
    def version():
        import torch

        return torch.__version__

    def notes(self):
        return {"dtype": str(next(self.model.parameters()).dtype)}


class TorchDataLoaderTrainer(TorchTrainer):
    """PyTorch the common tutorial way: a DataLoader over a TensorDataset, ``loss.item()`` kept."""

    key = "torch-dataloader"
    label = "PyTorch + DataLoader"

    def train(self, X, y, epochs):
        torch = self.torch
        from torch.utils.data import DataLoader, TensorDataset

        loader = DataLoader(
            TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
            batch_size=self.workload.batch_size,
            shuffle=True,
            generator=self.generator,
        )
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        model.train()
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            running_loss = 0.0
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
            seconds.append(time.perf_counter() - start)
        return seconds


class SklearnTrainer(Trainer):
    """scikit-learn's ``MLPClassifier``, one ``partial_fit`` call per epoch.

    Same layers, activation, batch size, optimizer and learning rate, no L2 penalty (alpha=0),
    classical (not Nesterov) momentum; its own initialisation (it accepts no starting weights).
    """

    key = "sklearn"
    label = "scikit-learn MLPClassifier"
    imports = ("sklearn.neural_network",)

    def __init__(self, workload, weights, seed):
        super().__init__(workload, weights, seed)
        from sklearn.neural_network import MLPClassifier

        options: dict[str, object] = {}
        if workload.optimizer == "sgd":
            options = {
                "solver": "sgd",
                "momentum": workload.momentum,
                "nesterovs_momentum": False,
                "learning_rate": "constant",
            }
        else:
            options = {"solver": "adam"}
        self.model = MLPClassifier(
            hidden_layer_sizes=workload.hidden,
            activation="logistic" if workload.activation == "sigmoid" else "relu",
            batch_size=workload.batch_size,
            learning_rate_init=workload.learning_rate,
            alpha=0.0,
            shuffle=True,
            random_state=seed,
            **options,
        )
        self.n_classes = weights[-1][0].shape[1]

    def train(self, X, y, epochs):
        classes = np.arange(self.n_classes)
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            self.model.partial_fit(X, y, classes=classes)
            seconds.append(time.perf_counter() - start)
        return seconds

    def accuracy(self, X, y):
        return float(self.model.score(X, y))

    def predictor(self, X):
        model = self.model
        return lambda: model.predict_proba(X)

    @staticmethod
    def version():
        import sklearn

        return sklearn.__version__

    def notes(self):
        coefs = getattr(self.model, "coefs_", None)
        return {"dtype": str(coefs[0].dtype) if coefs else "untrained"}


TRAINERS: dict[str, type[Trainer]] = {
    t.key: t
    for t in (
        GlassnetTrainer,
        GlassnetNumpyTrainer,
        NumpyTrainer,
        TorchTrainer,
        TorchDataLoaderTrainer,
        SklearnTrainer,
    )
}

# The Python module each peer needs, and how to install it.
REQUIREMENTS = {
    "glassnet": ("glassnet", "pip install -e ."),
    "glassnet-numpy": ("glassnet", "pip install -e ."),
    "numpy": ("numpy", "pip install numpy"),
    "torch": ("torch", "pip install torch==2.13.0"),
    "torch-dataloader": ("torch", "pip install torch==2.13.0"),
    "sklearn": ("sklearn", "pip install scikit-learn"),
}
