"""Fine-tuning a pretrained network: frozen backbones, staged unfreezing, discriminative rates.

The network is cut into layer groups from the input up to its head. Lower groups hold generic
features (edges, textures) and change least when the task changes, so they get the smallest
learning rates (Howard & Ruder 2018, ULMFiT) or stay frozen while a new head learns first.
"""

from __future__ import annotations

from torch import nn

from trainlab.config import FinetuneConfig
from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState

HEAD_NAMES = ("fc", "head", "classifier")


def layer_groups(model: nn.Module) -> list[nn.Module]:
    """Blocks with parameters, from the input up; the head is last. A Sequential child counts each
    of its own children (a ResNet stage gives one group per residual block)."""
    children = list(model.named_children())
    head_index = max((i for i, (name, _) in enumerate(children) if name in HEAD_NAMES), default=None)
    if head_index is None:
        raise ValueError(
            f"{type(model).__name__} has no head named {', '.join(HEAD_NAMES)}; "
            "fine-tuning options need one"
        )
    body: list[nn.Module] = []
    for index, (_, child) in enumerate(children):
        if index == head_index:
            continue
        parts = list(child.children()) if isinstance(child, nn.Sequential) else [child]
        body.extend(part for part in parts if any(True for _ in part.parameters()))
    return [*body, children[head_index][1]]


def lr_scales(model: nn.Module, lr_decay: float) -> dict[nn.Parameter, float]:
    """Each parameter's share of the base learning rate: 1 for the head, lr_decay^k for the group
    k steps below it."""
    groups = layer_groups(model)
    scales = {}
    for depth, group in enumerate(reversed(groups)):
        for parameter in group.parameters():
            scales[parameter] = lr_decay**depth
    return scales


class FineTuning(Callback):
    """Freezes layer groups at the start of each epoch, by the epoch (so a resumed run agrees).

    Before `unfreeze_epoch` (or always, without it) only the head trains under `freeze=backbone`;
    from `unfreeze_epoch` on, the `unfreeze_groups` groups just below the head train as well.
    """

    order = -10  # before anything looks at which parameters train

    def __init__(self, config: FinetuneConfig):
        self.config = config

    def trainable_body_groups(self, epoch: int, body_groups: int) -> int:
        """How many groups below the head train in (1-based) `epoch`."""
        if self.config.freeze == "none":
            return body_groups
        if self.config.unfreeze_epoch is None or epoch < self.config.unfreeze_epoch:
            return 0
        return min(self.config.unfreeze_groups or body_groups, body_groups)

    def on_epoch_start(self, state: TrainState) -> None:
        groups = layer_groups(state.model)
        body = groups[:-1]
        trainable = self.trainable_body_groups(state.epoch + 1, len(body))
        for index, group in enumerate(body):
            frozen = index < len(body) - trainable
            group.requires_grad_(not frozen)
            if frozen and self.config.frozen_bn_eval:
                # model.train() ran just before: keep frozen statistics frozen too.
                for module in group.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
