"""Train the reference network 784-16-16-10 on Fashion-MNIST and report test accuracy.

Reads the 70,000 images installed by Debian's ``dataset-fashion-mnist`` package.
"""

import gzip
import time
from pathlib import Path

import numpy as np

import glassnet as gn

DATA = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(DATA / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(DATA / f"{split}-labels-idx1-ubyte.gz")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)


X_train, y_train = load("train")
X_test, y_test = load("t10k")
model = gn.MLP([784, 16, 16, 10], activation="sigmoid", seed=0)
print(model.summary())
start = time.perf_counter()
model.fit(
    X_train,
    y_train,
    epochs=5,
    batch_size=32,
    verbose=1,
    seed=0,
    optimizer=gn.SGD(model.parameters(), learning_rate=0.1, momentum=0.9),
)
print(f"trained in {time.perf_counter() - start:.1f} s")
print(f"Fashion-MNIST test accuracy: {model.evaluate(X_test, y_test)['accuracy']:.4f}")
print(model.neuron(0, 0, X_test[0]).formula())
