"""Graph auto-encoder over a model graph: a GCN encoder and PyG's inner-product decoder.

Trained to reconstruct the (undirected) edges of the graph with ``recon_loss`` and negative
sampling, as in AGMC, and optionally (``feature_weight > 0``) the node features too, through a
linear decoder from the embedding (an attributed graph auto-encoder): the edge loss alone rewards
embeddings that tell neighbours apart, the feature loss keeps what a node is (its channels,
resolution, cost), which is what a pruning agent reads. A fraction of the edges is held out (``RandomLinkSplit``) to report the
link-prediction AUC and AP, so a user can see the encoder learned the structure. The final node
embeddings are computed in ``eval()`` mode (the mean for a VGAE) over all edges.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GAE, VGAE, GCNConv
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import to_undirected

from agmc_env.checks import SEED, Boolean, Check, Integer, Number
from agmc_env.embedding.link_metrics import average_precision, roc_auc
from agmc_env.graph import ModelGraph
from agmc_env.graph.tracing import torch_threads


@dataclass(frozen=True)
class GAEConfig:
    """Hyper-parameters of the graph auto-encoder (all part of the cache key).

    Attributes:
        embedding_dim: size of a node embedding (AGMC: 30; 8 here, enough for the structural
            features of :mod:`agmc_env.graph.features` and more stable across seeds).
        hidden_dim: width of the first GCN layer.
        epochs: full-batch Adam steps.
        lr: Adam learning rate.
        variational: train a VGAE (adds the KL term) instead of a GAE.
        seed: seeds the weights, the held-out edges and the negative samples.
        test_fraction: share of the edges held out to measure link prediction.
        feature_weight: weight of the node-feature reconstruction loss (mean squared error of a
            linear decoder) next to the edge loss; 0 trains on edges alone, as AGMC.
    """

    embedding_dim: int = field(default=8, metadata={"check": Integer(1, 1024)})
    hidden_dim: int = field(default=64, metadata={"check": Integer(1, 4096)})
    epochs: int = field(default=200, metadata={"check": Integer(1)})
    lr: float = field(default=0.01, metadata={"check": Number(0.0, low_open=True)})
    variational: bool = field(default=False, metadata={"check": Boolean()})
    seed: int = field(default=0, metadata={"check": SEED})
    test_fraction: float = field(default=0.1, metadata={"check": Number(0.0, 1.0, high_open=True)})
    feature_weight: float = field(default=0.0, metadata={"check": Number(0.0)})

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            checked = item.metadata["check"](item.name, value)
            if checked is not value:
                object.__setattr__(self, item.name, checked)

    @staticmethod
    def check_of(name: str) -> Check:
        """The check of field ``name`` (what a command-line flag for it accepts)."""
        return next(f for f in fields(GAEConfig) if f.name == name).metadata["check"]


@dataclass
class EmbeddingResult:
    """Trained node embeddings and how well they predict held-out edges.

    Attributes:
        embeddings: ``[N, embedding_dim]`` float32, one row per graph node.
        auc, ap: link-prediction ROC AUC and average precision on the held-out edges (NaN when the
            graph has too few edges to hold any out).
        from_cache: whether the embeddings were loaded from the disk cache.
    """

    embeddings: Tensor
    auc: float
    ap: float
    from_cache: bool = False


def _remove_generated_sources() -> None:
    """Delete the files PyG generated for its layers' ``propagate`` in the temporary directory.

    PyG renders that code from a template into a ``tempfile`` (``delete=False``) and imports it:
    one file per process and layer class, never removed. Once imported the module needs no file
    (tracebacks show no source line for it), so it is removed rather than left behind.
    """
    temp = Path(tempfile.gettempdir()).resolve()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not name.startswith("torch_geometric.") or not file:
            continue
        path = Path(file)
        if path.name.startswith(f"{name}_") and path.suffix == ".py" and path.parent.resolve() == temp:
            path.unlink(missing_ok=True)


class GCNEncoder(nn.Module):
    r"""Two-layer GCN encoder: :math:`\mathbf{Z} = \mathrm{GCN}_2(\mathrm{ReLU}(\mathrm{GCN}_1(\mathbf{X})))`.

    Args:
        in_channels (int): size of each node feature vector.
        hidden_channels (int): width of the first GCN layer.
        out_channels (int): size of each embedding.
        variational (bool, optional): also return a log-standard deviation from a parallel second
            layer, as :class:`torch_geometric.nn.VGAE` expects. (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`, edge indices :math:`(2, |\mathcal{E}|)`
        - **output:** embeddings :math:`(|\mathcal{V}|, F_{out})`, or a tuple ``(mu, logstd)`` of
          two such tensors when ``variational``
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, variational: bool = False) -> None:
        super().__init__()
        self.in_channels, self.hidden_channels, self.out_channels = in_channels, hidden_channels, out_channels
        self.variational = variational
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv_mu = GCNConv(hidden_channels, out_channels)
        self.conv_logstd = GCNConv(hidden_channels, out_channels) if variational else None
        _remove_generated_sources()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        for conv in (self.conv1, self.conv_mu, self.conv_logstd):
            if conv is not None:
                conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        hidden = self.conv1(x, edge_index).relu()
        if self.conv_logstd is None:
            return self.conv_mu(hidden, edge_index)
        return self.conv_mu(hidden, edge_index), self.conv_logstd(hidden, edge_index)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.hidden_channels}, {self.out_channels}, "
            f"variational={self.variational})"
        )


def train_gae(graph: ModelGraph, config: GAEConfig = GAEConfig()) -> EmbeddingResult:
    """Train a (V)GAE on ``graph`` and return its node embeddings (no caching; see ``node_embeddings``).

    Deterministic for a given ``config.seed`` on the same machine. PyG draws from torch's global
    generator and (in ``negative_sampling``) from Python's ``random``; both are seeded here and
    restored afterwards, so the caller's random state is untouched.
    """
    num_nodes = graph.num_nodes
    undirected = to_undirected(graph.data.edge_index, num_nodes=num_nodes)
    data = Data(x=graph.data.x.float(), edge_index=undirected, num_nodes=num_nodes)
    with _seeded(config.seed), torch_threads(1):
        train_data, test_data = _split_edges(data, config.test_fraction)
        encoder = GCNEncoder(data.num_features, config.hidden_dim, config.embedding_dim, config.variational)
        model = VGAE(encoder) if config.variational else GAE(encoder)
        model.reset_parameters()
        feature_decoder = nn.Linear(config.embedding_dim, data.num_features)
        optimizer = torch.optim.Adam([*model.parameters(), *feature_decoder.parameters()], lr=config.lr)
        positives = train_data.pos_edge_label_index
        for _ in range(config.epochs):
            model.train()
            optimizer.zero_grad()
            z = model.encode(train_data.x, train_data.edge_index)
            loss = model.recon_loss(z, positives)
            if config.variational:
                loss = loss + model.kl_loss() / num_nodes
            if config.feature_weight > 0:
                loss = loss + config.feature_weight * nn.functional.mse_loss(feature_decoder(z), train_data.x)
            loss.backward()
            optimizer.step()

        model.eval()  # a VGAE then encodes to its mean, without sampling
        with torch.no_grad():
            z = model.encode(train_data.x, train_data.edge_index)
            auc, ap = float("nan"), float("nan")
            if test_data is not None:
                pos = model.decoder(z, test_data.pos_edge_label_index, sigmoid=True)
                neg = model.decoder(z, test_data.neg_edge_label_index, sigmoid=True)
                auc, ap = roc_auc(pos, neg), average_precision(pos, neg)
            embeddings = model.encode(data.x, data.edge_index)
    return EmbeddingResult(embeddings.detach().float().contiguous(), auc, ap, from_cache=False)


def _split_edges(data: Data, test_fraction: float) -> tuple[Data, Data | None]:
    """Training graph (held-out edges removed) and test edges with as many sampled non-edges."""
    num_undirected = data.edge_index.size(1) // 2
    if test_fraction == 0.0 or int(test_fraction * num_undirected) == 0:
        train = data.clone()
        train.pos_edge_label_index = data.edge_index
        return train, None
    split = RandomLinkSplit(
        num_val=0.0, num_test=test_fraction, is_undirected=True, split_labels=True, add_negative_train_samples=False
    )
    train, _, test = split(data)
    return train, test


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch, Python and NumPy global generators; restore their states on exit."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
