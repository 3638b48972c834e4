"""RNN, LSTM and GRU in NumPy with backpropagation through time written by hand.

They show what BPTT computes, and are checked in tests against central finite differences and
against torch autograd on the same weights (float64). `network.backward` keeps dL/dh_t for every
step (`hidden_gradients`), which the vanishing-gradients study compares with torch's.
"""

from trainlab.scratch.cells import CELLS, ScratchGRU, ScratchLSTM, ScratchRNN
from trainlab.scratch.network import RecurrentNetwork, softmax_cross_entropy
from trainlab.scratch.optim import SGD, Adam, clip_elementwise, clip_global_norm, global_norm
from trainlab.scratch.sampling import sample

__all__ = [
    "CELLS", "SGD", "Adam", "RecurrentNetwork", "ScratchGRU", "ScratchLSTM", "ScratchRNN",
    "clip_elementwise", "clip_global_norm", "global_norm", "sample", "softmax_cross_entropy",
]
