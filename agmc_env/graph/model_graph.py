"""A neural network as a directed computational graph with per-node features.

Nodes are the tensor operations of the traced forward pass; edges the tensors flowing between
them. What is *not* a node (documented choice):

- the input placeholder, the output, and constants read with ``get_attr``: they carry no layer;
- shape arithmetic (``x.size()``, integer ``getitem``, ``//``): its values are not activations;
- pass-through ops: ``nn.Identity``, ``.contiguous()`` and ``getitem`` picking a tensor out of a
  split (``chunk``): they are dropped and their producers are wired straight to their users.

So an identity residual shortcut is a direct edge from the block input to the ``add`` node, while
the option-A ``PadShortcut`` of the CIFAR ResNets is a node of type ``other``. Edges follow the data
flow (producer -> consumer), duplicates removed; the graph auto-encoder makes them undirected.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field, replace

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import TensorMetadata
from torch_geometric.data import Data

from agmc_env.errors import ConfigError
from agmc_env.graph.features import NodeInfo, bypassed_nodes, classify, feature_matrix, node_info
from agmc_env.graph.tracing import GraphTraceError, trace_model
from agmc_env.layer_table import LAYER_TYPES, LayerTable, describe_layers


@dataclass
class ModelGraph:
    """The computational graph of a model.

    Attributes:
        data: ``x`` ``[N, F]`` float32 node features (see :mod:`agmc_env.graph.features`), ``edge_index`` ``[2, E]`` int64
            directed data-flow edges.
        node_names: the qualified module name for module calls (``"layer1.0.conv1"``; a module
            called twice gets ``"name:1"`` for its second call), else the fx node name.
        node_ops: the operation type of each node, one of :data:`agmc_env.graph.OPS`.
        module_to_node: qualified name of every called leaf module that is a node -> its node
            index (its first call if it is called more than once). Every conv and linear layer is
            there; pass-through ``nn.Identity`` modules are not.
        nodes: raw attributes of each node (shapes, channels, MACs, params).
    """

    data: Data
    node_names: list[str]
    node_ops: list[str]
    module_to_node: dict[str, int]
    nodes: list[NodeInfo] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return len(self.node_names)

    @property
    def num_edges(self) -> int:
        return int(self.data.edge_index.size(1))

    def op_counts(self) -> dict[str, int]:
        """Number of nodes of each operation type, most frequent first."""
        return dict(Counter(self.node_ops).most_common())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_nodes={self.num_nodes}, num_edges={self.num_edges})"


def _is_pass_through(node: fx.Node, module: nn.Module | None) -> bool:
    if isinstance(module, nn.Identity):
        return True
    if node.op == "call_method" and node.target == "contiguous":
        return True
    if node.op == "call_function" and node.target is operator.getitem:
        meta = node.args[0].meta.get("tensor_meta") if isinstance(node.args[0], fx.Node) else None
        return isinstance(meta, (tuple, list)) and not isinstance(meta, TensorMetadata)
    return False


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 0
    while candidate in taken:
        count += 1
        candidate = f"{name}:{count}"
    taken.add(candidate)
    return candidate


def _layer_macs(layers: LayerTable) -> dict[str, list[int]]:
    """MACs of each conv/linear call, by layer name, in call order."""
    macs: dict[str, list[int]] = {}
    for call in layers.calls:
        macs.setdefault(call.name, []).append(call.macs)
    return macs


def build_graph(
    model: nn.Module, input_size: tuple[int, ...], layers: LayerTable | None = None, depth_encoding: bool = False
) -> ModelGraph:
    """Trace ``model`` into a :class:`ModelGraph`.

    Args:
        model: any ``torch.fx``-traceable module (its parameters are not modified).
        input_size: ``(C, H, W)`` of one input, e.g. ``(3, 32, 32)`` for CIFAR-10.
        layers: the model's :func:`~agmc_env.layer_table.describe_layers` table, if already built;
            the nodes' MACs come from it. (default: ``None``: described here)
        depth_encoding: append the depth columns of the first feature version (see
            :mod:`agmc_env.graph.features`), for comparisons. (default: ``False``)

    Raises:
        ConfigError: if ``input_size`` is not a tuple of positive ints.
        GraphTraceError: naming the module that could not be traced and why.
    """
    if not input_size or not all(isinstance(s, int) and s > 0 for s in input_size):
        raise ConfigError(f"input_size must be a tuple of positive ints like (3, 32, 32), got {input_size!r}")
    graph_module = trace_model(model, tuple(input_size))  # first: it names what fails to trace or run
    if layers is None:
        layers = describe_layers(model, input_size)
    layers.check_input_size(input_size)
    layer_macs = _layer_macs(layers)
    modules = dict(graph_module.named_modules())

    index: dict[fx.Node, int] = {}
    forwards: dict[fx.Node, list[int]] = {}  # dropped node -> kept nodes whose data it passes on
    names: list[str] = []
    infos: list[NodeInfo] = []
    module_to_node: dict[str, int] = {}
    edges: list[tuple[int, int]] = []
    taken: set[str] = set()
    for node in graph_module.graph.nodes:
        sources: list[int] = []
        for source in node.all_input_nodes:
            sources += [index[source]] if source in index else forwards.get(source, [])
        sources = list(dict.fromkeys(sources))
        module = modules[node.target] if node.op == "call_module" else None
        if node.op in ("placeholder", "get_attr", "output") or "tensor_meta" not in node.meta:
            forwards[node] = []
            continue
        if _is_pass_through(node, module):
            forwards[node] = sources
            continue
        index[node] = len(names)
        names.append(_unique(node.target if module is not None else node.name, taken))
        depth = 1 + max((infos[source].depth for source in sources), default=-1)
        macs = 0
        if isinstance(module, LAYER_TYPES):  # its calls come in the same order as in the eager run
            if not layer_macs.get(node.target):
                raise GraphTraceError(f"the traced graph calls {node.target!r} more often than the model itself")
            macs = layer_macs[node.target].pop(0)
        infos.append(node_info(node, module, classify(node, module), depth, macs))
        if module is not None:
            module_to_node.setdefault(node.target, index[node])
        edges += [(source, index[node]) for source in sources]

    infos = [replace(info, residual_branch=bypassed) for info, bypassed in zip(infos, bypassed_nodes(len(infos), edges))]
    total_params = sum(p.numel() for p in model.parameters())
    edge_index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).t().contiguous()
    data = Data(x=feature_matrix(infos, total_params, depth_encoding), edge_index=edge_index, num_nodes=len(names))
    return ModelGraph(data, names, [info.op for info in infos], module_to_node, infos)
