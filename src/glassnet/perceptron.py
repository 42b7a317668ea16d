"""Rosenblatt's perceptron: one threshold unit and the perceptron learning rule.

The perceptron computes ŷ = step(w·x + b): 1 if w·x + b > 0, else 0. It learns one sample at a
time by the rule

    w ← w + lr·(y − ŷ)·x,   b ← b + lr·(y − ŷ)

which changes the weights only when the answer is wrong. If some line (hyperplane) separates the
two classes, the rule finds one in a finite number of mistakes (Novikoff's theorem): AND and OR
are learnt in a few epochs. XOR is not linearly separable — no w, b put (0,1) and (1,0) above the
line and (0,0), (1,1) below it, since adding the first two conditions gives w₁ + w₂ + 2b > 0 and
adding the last two gives w₁ + w₂ + 2b ≤ 0 — so the rule never converges on it, and a hidden layer
is needed (see `glassnet.MLP`).

The unit is an ordinary glassnet model, ``Sequential([Dense(n, 1), Step()])``, so it can be traced
and inspected like any network. The step's derivative is zero wherever it exists, so
backpropagation cannot train it: that is why sigmoid neurons replaced it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import as_float_array, check_positive_int, check_real
from .models import Sequential
from .nn import Dense, Step
from .parameter import Parameter


class Perceptron:
    """A single threshold unit trained by the perceptron learning rule.

    Parameters
    ----------
    n_inputs : int
    learning_rate : float
        The step of the rule (1.0 is classic; for 0/1 inputs any positive value behaves alike).
    seed : int, optional
        Seeds the shuffling of samples when ``fit(shuffle=True)``.

    Attributes
    ----------
    model : Sequential
        ``Dense(n_inputs → 1)`` followed by ``Step()``; weights start at zero.
    errors_ : list of int
        Mistakes made during each epoch of the last `fit`.
    converged_ : bool
        Whether an epoch passed with no mistake.

    Examples
    --------
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y_and = np.array([0, 0, 0, 1])
    >>> Perceptron(2).fit(X, y_and).predict(X)
    array([0, 0, 0, 1])
    """

    def __init__(self, n_inputs: int, learning_rate: float = 1.0, seed: int | None = None) -> None:
        self.n_inputs = check_positive_int(n_inputs, "n_inputs")
        self.learning_rate = check_real(learning_rate, "learning_rate", 0.0)
        self.model = Sequential(
            [Dense(self.n_inputs, 1, weight_init="zeros", dtype=np.float64), Step()], seed=seed
        )
        self.dense: Dense = self.model.layers[0]  # type: ignore[assignment]
        bias = self.dense.b
        assert bias is not None
        self._bias: Parameter = bias
        self._rng = np.random.default_rng(seed)
        self.errors_: list[int] = []
        self.converged_ = False

    @property
    def weights(self) -> np.ndarray:
        """w, shape (n_inputs,)."""
        return self.dense.W.value[:, 0]

    @property
    def bias(self) -> float:
        return float(self._bias.value[0])

    def predict(self, X: Any) -> np.ndarray:
        """ŷ = step(X·w + b), shape (n_samples,) of 0/1 ints."""
        X = self.model.check_inputs(X)
        return self.model.forward(X)[:, 0].astype(np.int64)

    def fit(self, X: Any, y: Any, epochs: int = 100, shuffle: bool = False) -> Perceptron:
        """Apply the perceptron rule, sample by sample, until an epoch has no mistake.

        Stops after ``epochs`` epochs otherwise (``converged_`` stays False).
        """
        X = self.model.check_inputs(X)
        y = as_float_array(y, "y", np.dtype(np.float64)).reshape(-1)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels.")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("The perceptron learns 0/1 labels; y holds other values.")
        w, b = self.weights, self._bias.value
        self.errors_, self.converged_ = [], False
        for _ in range(check_positive_int(epochs, "epochs")):
            order = self._rng.permutation(len(X)) if shuffle else range(len(X))
            mistakes = 0
            # NOTE: the rule is online by definition (each update changes the next prediction),
            # so this loop over samples is the algorithm itself, not a missed vectorisation.
            for i in order:
                error = y[i] - float(X[i] @ w + b[0] > 0.0)
                if error:
                    w += self.learning_rate * error * X[i]
                    b += self.learning_rate * error
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        return self

    def __repr__(self) -> str:
        return f"Perceptron(n_inputs={self.n_inputs}, weights={self.weights}, bias={self.bias})"
