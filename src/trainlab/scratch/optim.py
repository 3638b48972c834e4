"""Gradient clipping and the SGD and Adam updates for dictionaries of NumPy arrays (in place)."""

from __future__ import annotations

import numpy as np

Arrays = dict[str, np.ndarray]


def global_norm(grads: Arrays) -> float:
    """L2 norm of all gradients together."""
    return float(np.sqrt(sum(float((grad.astype(np.float64) ** 2).sum()) for grad in grads.values())))


def clip_global_norm(grads: Arrays, max_norm: float) -> float:
    """Rescale every gradient by max_norm / norm when the global norm exceeds `max_norm` (the
    direction is kept); returns the norm before clipping. Same rule as torch's clip_grad_norm_."""
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    norm = global_norm(grads)
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        for grad in grads.values():
            grad *= scale
    return norm


def clip_elementwise(grads: Arrays, max_value: float) -> int:
    """Clamp every element to [-max_value, max_value] (the direction may change); returns how many
    elements were clamped."""
    if max_value <= 0:
        raise ValueError(f"max_value must be > 0, got {max_value}")
    clamped = 0
    for grad in grads.values():
        clamped += int((np.abs(grad) > max_value).sum())
        np.clip(grad, -max_value, max_value, out=grad)
    return clamped


class SGD:
    """params -= lr * (momentum buffer), the buffer as torch keeps it: v = momentum * v + grad."""

    def __init__(self, lr: float, momentum: float = 0.0):
        self.lr, self.momentum = lr, momentum
        self.velocity: Arrays = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        for name, grad in grads.items():
            if self.momentum:
                buffer = self.velocity.get(name)
                buffer = grad.copy() if buffer is None else self.momentum * buffer + grad
                self.velocity[name] = buffer
                grad = buffer
            params[name] -= self.lr * grad


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam without weight decay."""

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.steps = 0
        self.first: Arrays = {}
        self.second: Arrays = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1**self.steps, 1 - beta2**self.steps
        for name, grad in grads.items():
            m = self.first.setdefault(name, np.zeros_like(grad))
            v = self.second.setdefault(name, np.zeros_like(grad))
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad**2
            params[name] -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)
