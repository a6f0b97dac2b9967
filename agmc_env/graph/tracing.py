"""Trace a model into a ``torch.fx`` graph and propagate tensor shapes through it.

Leaf modules (kept as one node, not traced into) are the standard ``torch.nn`` layers and every
module without child modules. The second rule keeps small custom layers such as the option-A
``PadShortcut`` of the CIFAR ResNets or torchvision's ``StochasticDepth`` as one operation each,
and spares the tracer their (possibly data-dependent) internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from agmc_env.errors import UnsupportedModelError


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous setting.

    Graph work here is a long chain of tiny ops (one image, a few hundred nodes), where thread
    synchronisation costs more than it saves: on a loaded 2-core machine, 200 GAE epochs on
    ResNet-56 took 17 s with 2 threads and 0.5 s with 1 (results are identical).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class GraphTraceError(UnsupportedModelError):
    """A model could not be traced, or its traced graph could not run on the given input size.

    An :class:`~agmc_env.errors.UnsupportedModelError` (and a ``ValueError``): ``agmc`` exits with 1.
    """


class _LeafTracer(fx.Tracer):
    """``fx.Tracer`` that treats childless modules as leaves and remembers where tracing failed."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_module: str | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return super().is_leaf_module(m, module_qualified_name) or next(m.children(), None) is None

    def call_module(self, m: nn.Module, forward: Any, args: tuple, kwargs: dict) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            # The innermost module on the failing call path records itself first.
            if self.failed_module is None:
                self.failed_module = f"{self.path_of_module(m)!r} ({type(m).__name__})"
            raise


def trace_model(model: nn.Module, input_size: tuple[int, ...]) -> fx.GraphModule:
    """Symbolically trace ``model`` and annotate every node with its output shape.

    After this call each node whose output holds tensors carries ``node.meta["tensor_meta"]``
    (``torch.fx.passes.shape_prop``). The model's parameters are shared, not copied, and its
    train/eval flags are restored.

    Args:
        model: any ``nn.Module`` that ``torch.fx`` can trace.
        input_size: ``(C, H, W)`` of one input; the shapes are those of a batch of one.

    Raises:
        GraphTraceError: naming the module that failed to trace (or the node that failed to run)
            and the underlying reason.
    """
    tracer = _LeafTracer()
    try:
        graph = tracer.trace(model)
    except Exception as error:  # fx raises many types (TraceError, TypeError, AttributeError, ...)
        where = tracer.failed_module or f"<root> ({type(model).__name__})"
        raise GraphTraceError(
            f"torch.fx could not trace module {where} of {type(model).__name__}: "
            f"{type(error).__name__}: {error}. Data-dependent control flow (if/for on tensor "
            "values) is not traceable; rewrite that module's forward or give it no child modules "
            "so that it is kept as one leaf operation."
        ) from error
    graph_module = fx.GraphModule(tracer.root, graph, type(model).__name__)

    training = {module: module.training for module in model.modules()}
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    try:
        model.eval()  # batch norm must not update its running statistics here
        with torch.no_grad(), torch_threads(1):
            ShapeProp(graph_module).propagate(torch.zeros((1, *input_size), device=device))
    except Exception as error:
        raise GraphTraceError(
            f"the traced graph of {type(model).__name__} failed on an input of size "
            f"{tuple(input_size)}: {error}"
        ) from error
    finally:
        for module, was_training in training.items():
            module.training = was_training
    return graph_module
