"""``agmc graph``: a model's computational graph and its learned layer embeddings, as the agent sees them."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from agents.cli.common import add_data_arguments, print_result
from agmc_env.embedding import EmbeddingResult, GAEConfig, node_embeddings
from agmc_env.graph import OPS, PRUNABLE_OPS, ModelGraph, build_graph
from agmc_env.models import available_models, get_model, get_spec

_ROW_LENGTH = 40  # depth levels per row of the snake layout


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="the model as a graph, and its GAE layer embeddings",
        description="Trace a zoo model into its computational graph (nodes: operations, edges: "
        "data flow), train (or load from the cache) the graph auto-encoder that gives each layer "
        "its embedding, and print a summary: node/edge/op counts and the link-prediction AUC/AP "
        "of the encoder on held-out edges. --plot also draws the graph and a 2-D PCA projection "
        "of the conv/linear embeddings coloured by stage (feature-map resolution). The graph "
        "depends on the architecture only: no weights or data are read.",
    )
    parser.add_argument("--model", default="resnet56", help=f"zoo name, one of: {', '.join(available_models())}")
    parser.add_argument(
        "--input-size", type=int, nargs=3, metavar=("C", "H", "W"), default=None,
        help="input size (default: the model's own, e.g. 3 32 32 for CIFAR, 3 224 224 for ImageNet)",
    )  # fmt: skip
    parser.add_argument("--plot", default=None, metavar="PNG", help="write the figure to this PNG file")
    parser.add_argument("--embedding-dim", type=int, default=GAEConfig.embedding_dim)
    parser.add_argument("--epochs", type=int, default=GAEConfig.epochs)
    parser.add_argument("--seed", type=int, default=GAEConfig.seed)
    parser.add_argument("--variational", action="store_true", help="train a VGAE instead of a GAE")
    parser.add_argument("--cache-dir", default=None, help="embedding cache root (default: $AGMC_CACHE or ~/.cache/agmc-env)")
    parser.add_argument("--no-cache", action="store_true", help="train without reading or writing the cache")
    add_data_arguments(parser)  # accepted for uniformity with the other commands; nothing is read
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    input_size = tuple(args.input_size) if args.input_size else get_spec(args.model).input_size
    config = GAEConfig(embedding_dim=args.embedding_dim, epochs=args.epochs, seed=args.seed, variational=args.variational)
    print(f"tracing {args.model} at input size {input_size}", file=sys.stderr)
    start = time.perf_counter()
    graph = build_graph(get_model(args.model, pretrained=False), input_size)
    graph_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = node_embeddings(graph, config, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    embedding_seconds = time.perf_counter() - start
    ops = graph.op_counts()
    summary = {
        "model": args.model,
        "input_size": list(input_size),
        "nodes": graph.num_nodes,
        "edges": graph.num_edges,
        "prunable_layers": sum(ops.get(op, 0) for op in PRUNABLE_OPS),
        "ops": ops if args.json else ", ".join(f"{op}={count}" for op, count in ops.items()),
        "embedding_dim": config.embedding_dim,
        "gae_auc": round(result.auc, 4),
        "gae_ap": round(result.ap, 4),
        "from_cache": result.from_cache,
        "graph_seconds": round(graph_seconds, 3),
        "embedding_seconds": round(embedding_seconds, 3),
    }
    if args.plot:
        plot_graph(graph, result, args.plot, title=f"{args.model} {tuple(input_size)}")
        summary["plot"] = str(args.plot)
    print_result(summary, args.json)
    return 0


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
    """Write a PNG with the snake-drawn graph (top) and the PCA of the layer embeddings (bottom)."""
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
    figure.savefig(path, dpi=110)
    plt.close(figure)
