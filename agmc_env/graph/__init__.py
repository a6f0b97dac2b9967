"""Any traceable CNN as a directed computational graph with node features (``torch.fx``).

Example:
    >>> from agmc_env.graph import build_graph
    >>> from agmc_env.models import get_model
    >>> graph = build_graph(get_model("resnet56", pretrained=False), (3, 32, 32))
    >>> graph.num_nodes, graph.num_edges
    (197, 223)
"""

from agmc_env.graph.features import NUM_FEATURES, OPS, PRUNABLE_OPS, NodeInfo
from agmc_env.graph.model_graph import ModelGraph, build_graph
from agmc_env.graph.tracing import GraphTraceError, trace_model

__all__ = ["NUM_FEATURES", "OPS", "PRUNABLE_OPS", "GraphTraceError", "ModelGraph", "NodeInfo", "build_graph", "trace_model"]
