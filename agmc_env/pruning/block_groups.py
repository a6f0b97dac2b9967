"""Dependency groups found block by block, for models whose whole graph Torch-Pruning cannot build.

Some models break Torch-Pruning's dependency graph as a whole (ShuffleNet-V2's channel shuffle is a
5-D reshape it divides by zero on; Swin-S/B's window attention a concat it cannot size), while
each of their blocks, taken alone, traces fine. :func:`block_groups` walks the module tree from the
top: a block whose graph builds contributes its groups, a block whose graph fails is split into its
children, down to single layers.

A group found inside a block is a group of the whole model only if its channels never leave the
block: it must not reach the block's output (``touches_output``) nor its input (the traced input
goes through a marker op, see :func:`~agmc_env.pruning.tp_adapter.build_dependency_graph`, and a
group reaching it counts as ``touches_stream``). Those are exactly the ``units="inner"`` groups, so
the block-wise search serves ``"inner"`` only; ``"all"`` needs the whole graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from agmc_env.layer_table import LAYER_TYPES
from agmc_env.pruning import tp_adapter


@dataclass(frozen=True)
class BlockSearch:
    """What :func:`block_groups` found.

    Attributes:
        groups: groups whose channels stay inside one block, qualified names, in network order.
        failed_blocks: ``(block name, error)`` for the smallest blocks whose graph could not be built
            (their children were searched instead).
    """

    groups: tuple[tp_adapter.GroupInfo, ...]
    failed_blocks: tuple[tuple[str, str], ...]


@torch.no_grad()
def _block_inputs(model: nn.Module, input_size: Sequence[int]) -> dict[nn.Module, torch.Tensor]:
    """The first input of every module called with exactly one tensor (one run of the model on zeros)."""
    inputs: dict[nn.Module, torch.Tensor] = {}

    def record(module: nn.Module, args: tuple, kwargs: dict) -> None:
        if module not in inputs and len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor):
            inputs[module] = args[0].detach()

    handles = [m.register_forward_pre_hook(record, with_kwargs=True) for m in model.modules()]
    training = {module: module.training for module in model.modules()}
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    try:
        model.eval()(torch.zeros((1, *input_size), device=device))
    finally:
        for handle in handles:
            handle.remove()
        for module, was_training in training.items():
            module.training = was_training
    return inputs


def _qualified(info: tp_adapter.GroupInfo, prefix: str) -> tp_adapter.GroupInfo:
    items = tuple(dataclasses.replace(item, module_name=prefix + item.module_name) for item in info.items)
    return dataclasses.replace(info, root_name=prefix + info.root_name, items=items)


def block_groups(model: nn.Module, input_size: Sequence[int], order: Sequence[str]) -> BlockSearch:
    """Groups of ``model`` that stay inside one of its blocks, found block by block.

    Args:
        model: the model (its whole dependency graph need not build).
        input_size: ``(C, H, W)`` of one input.
        order: the conv/linear names in execution order (roots are visited in it).
    """
    inputs = _block_inputs(model, input_size)
    position = {name: i for i, name in enumerate(order)}
    found: list[tp_adapter.GroupInfo] = []
    failed: list[tuple[str, str]] = []

    def search(prefix: str, block: nn.Module) -> None:
        layers = [name for name, m in block.named_modules() if isinstance(m, LAYER_TYPES)]
        if isinstance(block, LAYER_TYPES) or len(layers) < 2:
            return  # a group inside a block needs a producer and a consumer
        example = inputs.get(block)
        if example is not None:
            try:
                graph = tp_adapter.build_dependency_graph(block, example=example)
                local_order = [n[len(prefix) :] for n in order if n.startswith(prefix)]
                found.extend([_qualified(info, prefix) for info in tp_adapter.iter_groups(graph, local_order)])
                return
            except tp_adapter.DependencyGraphError as error:
                failed.append((prefix.rstrip("."), str(error)))
        for name, child in block.named_children():
            search(f"{prefix}{name}.", child)

    for name, child in model.named_children():
        search(f"{name}.", child)
    found.sort(key=lambda info: position.get(info.root_name, len(position)))
    # Keep only the smallest failing blocks: a block's failure is explained by its children's.
    smallest = [(n, e) for n, e in failed if not any(o != n and o.startswith(n + ".") for o, _ in failed)]
    return BlockSearch(tuple(found), tuple(smallest))
