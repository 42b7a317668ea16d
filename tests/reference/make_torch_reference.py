"""Regenerate the PyTorch reference files that tests/test_torch_parity.py compares with.

Run with torch installed (not a glassnet dependency; CI only reads the committed .npz files):

    pip install torch==2.13.0
    python tests/reference/make_torch_reference.py

Each file holds, in float64, an input ``x``, the layer's PyTorch weights in PyTorch's layout,
an upstream gradient ``grad_y``, and what PyTorch computed: ``y``, ``grad_x`` and the weights'
gradients. A few KB each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).parent
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def tensor(*shape):
    return torch.randn(*shape, requires_grad=True)


def save(name, x, y, grad_y, **arrays):
    """Backpropagate ``grad_y`` and save everything with the gradients of every leaf given."""
    y.backward(grad_y)
    out = {"x": x.detach().numpy(), "y": y.detach().numpy(), "grad_y": grad_y.numpy()}
    out["grad_x"] = x.grad.numpy()
    for key, value in arrays.items():
        out[key] = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if isinstance(value, torch.Tensor) and value.grad is not None:
            out[f"grad_{key}"] = value.grad.numpy()
    np.savez_compressed(HERE / f"{name}.npz", **out)


def conv_cases():
    cases = [
        # name, C, F, kernel, stride, padding (torch form), H, W
        ("conv_k3_s1_p0", 2, 3, (3, 3), (1, 1), (0, 0), 7, 6),
        ("conv_k3_s2_p1", 2, 4, (3, 3), (2, 2), (1, 1), 7, 8),
        ("conv_k2x3_s2x1_p1x0", 3, 2, (2, 3), (2, 1), (1, 0), 6, 5),
        ("conv_k5_same", 1, 3, (5, 5), (1, 1), "same", 6, 6),
        ("conv_k4_same", 2, 2, (4, 4), (1, 1), "same", 5, 5),
    ]
    for name, c, f, kernel, stride, padding, h, w in cases:
        x, weight, bias = tensor(2, c, h, w), tensor(f, c, *kernel), tensor(f)
        y = F.conv2d(x, weight, bias, stride=stride, padding=padding)
        save(
            name,
            x,
            y,
            torch.randn(y.shape),
            weight=weight,
            bias=bias,
            stride=stride,
            padding=[-1, -1] if padding == "same" else padding,
        )


def pool_cases():
    for name, kind, kernel, stride, h, w in [
        ("maxpool_k2_s2", "max", 2, 2, 5, 4),
        ("maxpool_k3_s2", "max", 3, 2, 7, 7),
        ("avgpool_k3_s2", "avg", 3, 2, 7, 5),
        ("avgpool_k2_s1", "avg", 2, 1, 4, 5),
    ]:
        x = tensor(2, 3, h, w)
        pool = F.max_pool2d if kind == "max" else F.avg_pool2d
        y = pool(x, kernel, stride)
        save(name, x, y, torch.randn(y.shape), kernel=kernel, stride=stride)
    x = tensor(2, 3, 4, 5)
    y = x.mean(dim=(2, 3))
    save("global_avgpool", x, y, torch.randn(y.shape))


def batchnorm_cases():
    for name, shape in [("batchnorm2d", (4, 3, 5, 4)), ("batchnorm1d", (6, 5))]:
        n = shape[1]
        layer = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(n)
        with torch.no_grad():
            layer.weight.copy_(torch.rand(n) + 0.5)
            layer.bias.copy_(torch.randn(n))
        x = tensor(*shape) * 2 + 1
        x.retain_grad()
        layer.train()
        y = layer(x)
        gamma, beta = layer.weight, layer.bias
        save(
            name,
            x,
            y,
            torch.randn(y.shape),
            gamma=gamma,
            beta=beta,
            running_mean=layer.running_mean,
            running_var=layer.running_var,
        )


def network_case():
    """conv → BatchNorm → ReLU → max pool → conv → ReLU → flatten → dense, cross-entropy."""
    x = tensor(4, 1, 12, 12)
    w1, b1 = tensor(4, 1, 3, 3), tensor(4)
    w2, b2 = tensor(6, 4, 3, 3), tensor(6)
    gamma, beta = (torch.rand(4) + 0.5).requires_grad_(), tensor(4)
    w3, b3 = tensor(3, 6), tensor(3)  # 6 filters × 1×1 after the second conv and pooling
    labels = torch.tensor([0, 2, 1, 2])
    z = F.conv2d(x, w1, b1, padding=1)
    z = F.batch_norm(z, torch.zeros(4), torch.ones(4), gamma, beta, training=True)
    z = F.max_pool2d(F.relu(z), 2)
    z = F.relu(F.conv2d(z, w2, b2, stride=2))
    z = F.max_pool2d(z, 2).flatten(1)
    logits = F.linear(z, w3, b3)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    arrays = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "gamma": gamma, "beta": beta}
    arrays |= {"w3": w3, "b3": b3}
    out = {"x": x.detach().numpy(), "labels": labels.numpy(), "loss": loss.detach().numpy()}
    for key, value in arrays.items():
        out[key] = value.detach().numpy()
        out[f"grad_{key}"] = value.grad.numpy()
    np.savez_compressed(HERE / "network.npz", **out)


if __name__ == "__main__":
    conv_cases()
    pool_cases()
    batchnorm_cases()
    network_case()
    print("wrote", sorted(p.name for p in HERE.glob("*.npz")))
