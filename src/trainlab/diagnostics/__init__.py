"""Diagnostics of training dynamics, usable as plain functions and as training callbacks.

- gradients.py: per-layer gradient norms, dL/dh_t per time step by autograd through the real
  recurrence of torch RNN/LSTM/GRU modules, the decay-rate fit, NaN/Inf detection by layer;
- spectral.py: eigenvalues and spectral radius of recurrent weight matrices;
- activations.py: activation statistics, dead ReLUs, saturated units, LSTM/GRU gates, hidden states;
- callbacks.py: the same during training, with arrays in RUN_DIR/diagnostics/ and flags in the logs;
- study_support.py: what the studies add to their runs and read back.
"""

from trainlab.diagnostics.activations import (
    activation_statistics,
    gate_activations,
    hidden_state_matrix,
)
from trainlab.diagnostics.callbacks import (
    GradientNorms,
    SpectralSnapshot,
    TimestepGradientProbe,
    diagnostics_callbacks,
)
from trainlab.diagnostics.gradients import (
    first_nonfinite_activation,
    first_nonfinite_gradient,
    fit_decay,
    global_gradient_norm,
    layer_gradient_norms,
    timestep_gradients,
)
from trainlab.diagnostics.spectral import eigenvalues, spectral_radius

__all__ = [
    "GradientNorms", "SpectralSnapshot", "TimestepGradientProbe", "activation_statistics", "diagnostics_callbacks",
    "eigenvalues", "first_nonfinite_activation", "first_nonfinite_gradient", "fit_decay", "gate_activations",
    "global_gradient_norm", "hidden_state_matrix", "layer_gradient_norms", "spectral_radius", "timestep_gradients",
]
