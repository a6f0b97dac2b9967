"""Node embeddings trained once per (graph, hyper-parameters) and kept on disk.

The cache key is a SHA-256 of the graph's node features and edges (their bytes, shapes and dtypes),
of the :class:`GAEConfig` and of the torch and PyG versions, so any change to the model, the input
size, the feature definition, a hyper-parameter or the libraries that train it trains anew: a
warm cache then always holds what a cold one would compute (the training is deterministic for a
seed, and a stored embedding is read back bit for bit), and a seeded search scores the same with
either. Files are plain tensors loadable with ``weights_only=True``,
written to a temporary file first and moved into place with ``os.replace`` so that concurrent
writers (vectorised envs) never leave a half-written file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from pathlib import Path

import torch
import torch_geometric

from agmc_env.atomic import atomic_write
from agmc_env.errors import reason
from agmc_env.embedding.gae import EmbeddingResult, GAEConfig, train_gae
from agmc_env.graph import ModelGraph
from agmc_env.paths import cache_dir as _cache_root

CACHE_FORMAT = 2  # bump when the stored content or the training procedure changes (2: structural features)
_SUBDIR = "embeddings"


def cache_key(graph: ModelGraph, config: GAEConfig) -> str:
    """Hex digest identifying the embeddings of ``graph`` under ``config``."""
    digest = hashlib.sha256(f"agmc-gae-v{CACHE_FORMAT}".encode())
    for tensor in (graph.data.x, graph.data.edge_index):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        digest.update(tensor.numpy().tobytes())
    digest.update(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    digest.update(f"torch {torch.__version__} torch_geometric {torch_geometric.__version__}".encode())
    return digest.hexdigest()


def cache_path(graph: ModelGraph, config: GAEConfig, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the embeddings of ``graph`` under ``config`` are (or would be) stored."""
    return _cache_root(cache_dir) / _SUBDIR / f"gae-{cache_key(graph, config)[:32]}.pt"


def node_embeddings(
    graph: ModelGraph,
    config: GAEConfig = GAEConfig(),
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> EmbeddingResult:
    """GAE node embeddings of ``graph``: loaded from the cache, or trained and then cached.

    Args:
        graph: from :func:`agmc_env.graph.build_graph`.
        config: GAE hyper-parameters. (default: ``GAEConfig()``)
        cache_dir: cache root (default: :func:`agmc_env.paths.cache_dir`, i.e. ``AGMC_CACHE`` or
            ``~/.cache/agmc-env``); files go to its ``embeddings/`` folder.
        use_cache: read and write the cache. (default: ``True``)

    Returns:
        :class:`EmbeddingResult` with ``from_cache`` telling whether it was loaded.
    """
    if not use_cache:
        return train_gae(graph, config)
    path = cache_path(graph, config, cache_dir)
    if path.exists():
        cached = _load(path, graph.num_nodes, config.embedding_dim)
        if cached is not None:
            return cached
    result = train_gae(graph, config)
    _save_atomically(path, result)
    return result


def _load(path: Path, num_nodes: int, dim: int) -> EmbeddingResult | None:
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        embeddings = stored["embeddings"]
        if stored.get("format") != CACHE_FORMAT or tuple(embeddings.shape) != (num_nodes, dim):
            raise ValueError(f"unexpected content (format {stored.get('format')}, shape {tuple(embeddings.shape)})")
        return EmbeddingResult(embeddings, float(stored["auc"]), float(stored["ap"]), from_cache=True)
    except Exception as error:  # a corrupt or foreign file: retrain and overwrite it
        message = f"ignoring unreadable embedding cache {path} ({reason(error)}); training the embeddings again"
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return None


def _save_atomically(path: Path, result: EmbeddingResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CACHE_FORMAT, "embeddings": result.embeddings, "auc": result.auc, "ap": result.ap}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
