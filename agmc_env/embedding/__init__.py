"""Layer embeddings of a model graph: a graph auto-encoder (AGMC) or AMC's hand-crafted state.

Example:
    >>> from agmc_env.embedding import node_embeddings, unit_embeddings
    >>> from agmc_env.graph import build_graph
    >>> from agmc_env.models import get_model
    >>> graph = build_graph(get_model("resnet56", pretrained=False), (3, 32, 32))
    >>> result = node_embeddings(graph)               # trained once, then read from the cache
    >>> unit_embeddings(graph, result, [("layer1.0.conv1",), ("layer1.1.conv1",)]).shape
    (2, 30)
"""

from agmc_env.embedding.cache import cache_key, cache_path, node_embeddings
from agmc_env.embedding.gae import EmbeddingResult, GAEConfig, GCNEncoder, train_gae
from agmc_env.embedding.unit import RULE_FEATURES, rule_unit_features, unit_embeddings

__all__ = [
    "RULE_FEATURES",
    "EmbeddingResult",
    "GAEConfig",
    "GCNEncoder",
    "cache_key",
    "cache_path",
    "node_embeddings",
    "rule_unit_features",
    "train_gae",
    "unit_embeddings",
]
