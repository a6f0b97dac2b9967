"""Pictures of a model graph and its embeddings: a snake layout of the nodes and a 2-D PCA of the layer embeddings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from agmc_env.atomic import atomic_write
from agmc_env.embedding.gae import EmbeddingResult
from agmc_env.graph import OPS, PRUNABLE_OPS, ModelGraph

_ROW_LENGTH = 40  # depth levels per row of the snake layout


def snake_layout(graph: ModelGraph, row_length: int = _ROW_LENGTH) -> np.ndarray:
    """``[N, 2]`` positions: depth runs left to right, then right to left on the next row, and so on;
    nodes at the same depth (parallel branches) are stacked below each other."""
    positions = np.zeros((graph.num_nodes, 2))
    lanes: dict[int, int] = {}
    for index, node in enumerate(graph.nodes):
        row, column = divmod(node.depth, row_length)
        if row % 2:
            column = row_length - 1 - column
        lane = lanes.get(node.depth, 0)
        lanes[node.depth] = lane + 1
        positions[index] = (column, -3.0 * row - 0.8 * lane)
    return positions


def stage_labels(graph: ModelGraph, indices: list[int]) -> list[str]:
    """Feature-map resolution of each node's output, e.g. ``"32x32"`` (``"flat"`` after flattening)."""
    return ["x".join(map(str, graph.nodes[i].out_shape[2:])) or "flat" for i in indices]


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Projection on the two leading principal components (zeros where there are fewer)."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    return np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))


def plot_graph(graph: ModelGraph, result: EmbeddingResult, path: str | Path, title: str = "") -> None:
    """Write a PNG with the snake-drawn graph (top) and the PCA of the layer embeddings (bottom).

    The file is PNG whatever ``path``'s suffix, written atomically (its folder created when missing).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    rows = math.ceil((max(n.depth for n in graph.nodes) + 1) / _ROW_LENGTH)
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 3 + 1.2 * rows + 7), gridspec_kw={"height_ratios": [1 + 1.2 * rows / 3, 3]}
    )
    positions = snake_layout(graph)
    for source, target in graph.data.edge_index.t().tolist():
        (x0, y0), (x1, y1) = positions[source], positions[target]
        bend = 0.35 if y0 == y1 and abs(x1 - x0) > 1 else 0.0  # skip connections arc over the chain
        top.add_patch(FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=f"arc3,rad={bend}", arrowstyle="-",
                                      color="0.6", linewidth=0.6, zorder=1))  # fmt: skip
    colours = matplotlib.colormaps["tab20"]
    for number, op in enumerate(OPS):
        members = [i for i, node_op in enumerate(graph.node_ops) if node_op == op]
        if members:
            size = 40 if op in PRUNABLE_OPS else 18
            top.scatter(*positions[members].T, s=size, color=colours(number), label=f"{op} ({len(members)})", zorder=2)
    top.set_title(f"{title}: {graph.num_nodes} nodes, {graph.num_edges} edges (depth runs left to right, then snakes back)")
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    top.set_xlim(-1, _ROW_LENGTH)
    top.set_ylim(positions[:, 1].min() - 1.2, 1.2)
    top.axis("off")

    layers = [i for i, op in enumerate(graph.node_ops) if op in PRUNABLE_OPS]
    points = pca_2d(result.embeddings[layers].double().numpy())
    bottom.plot(*points.T, color="0.8", linewidth=0.7, zorder=1)  # network order
    stages = stage_labels(graph, layers)
    resolutions = sorted(set(stages), key=lambda s: -math.prod(int(v) for v in s.split("x")) if s != "flat" else 1)
    palette = matplotlib.colormaps["viridis"]
    for number, stage in enumerate(resolutions):
        members = [k for k, label in enumerate(stages) if label == stage]
        colour = palette(number / max(1, len(resolutions) - 1))
        bottom.scatter(*points[members].T, s=30, color=colour, label=f"{stage} ({len(members)})", zorder=2)
    for k in (0, len(layers) - 1):
        bottom.annotate(graph.node_names[layers[k]], points[k], fontsize=8, xytext=(4, 4), textcoords="offset points")
    bottom.set_title(
        f"GAE embeddings of the {len(layers)} conv/linear layers, PCA to 2-D, coloured by stage "
        f"(output resolution); link prediction on held-out edges: AUC {result.auc:.3f}, AP {result.ap:.3f}"
    )
    bottom.set_xlabel("PC 1")
    bottom.set_ylabel("PC 2")
    bottom.legend(title="stage", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda tmp: figure.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(figure)
