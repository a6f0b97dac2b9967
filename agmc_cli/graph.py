"""``agmc graph``: a model's computational graph and its learned layer embeddings, as the agent sees them."""

from __future__ import annotations

import argparse
import sys
import time

from agmc_cli.common import add_data_arguments, add_env_option, flag_error, print_result
from agmc_cli.flags import add_flag, add_output
from agmc_env.checks import InputSize
from agmc_env.errors import ConfigError
from agmc_env.layer_table import describe_layers
from agmc_env.embedding import GAEConfig, node_embeddings
from agmc_env.graph import PRUNABLE_OPS, build_graph
from agmc_env.embedding.plot import plot_graph
from agmc_env.embedding.quality import gae_quality
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import make_pruning_method


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph",
        description="Trace a zoo model into its computational graph (nodes: operations, edges: "
        "data flow), train (or load from the cache) the graph auto-encoder that gives each layer "
        "its embedding, and print a summary: node/edge/op counts and the link-prediction AUC/AP "
        "of the encoder on held-out edges, and the embedding quality of the prunable units "
        "(inner channel units): a linear probe of their stage (feature-map resolution) and position, "
        "how often a unit's nearest neighbour is of its own stage, and the stability over three GAE "
        "seeds (see agmc_env.embedding.quality). --plot also draws the graph and a 2-D PCA projection "
        "of the conv/linear embeddings coloured by stage (feature-map resolution). The graph "
        "depends on the architecture only: no weights or data are read.",
    )
    add_env_option(parser, "model")
    add_flag(
        parser, "--input-size", InputSize(), None, "input size (default: the model's own, e.g. 3 32 32 for CIFAR, "
        "3 224 224 for ImageNet)", nargs=3, metavar=("C", "H", "W"),
    )  # fmt: skip
    add_output(parser, "--plot", False, "write the figure to this PNG file", metavar="PNG")
    add_flag(parser, "--embedding-dim", GAEConfig.check_of("embedding_dim"), GAEConfig.embedding_dim, "embedding size")
    add_flag(parser, "--epochs", GAEConfig.check_of("epochs"), GAEConfig.epochs, "GAE training steps")
    add_flag(parser, "--seed", GAEConfig.check_of("seed"), GAEConfig.seed, "GAE seed")
    parser.add_argument("--variational", action="store_true", help="train a VGAE instead of a GAE")
    add_env_option(parser, "cache_dir")
    parser.add_argument("--no-cache", action="store_true", help="train without reading or writing the cache")
    add_data_arguments(parser)  # accepted for uniformity with the other commands; nothing is read
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    input_size = tuple(args.input_size) if args.input_size else get_spec(args.model).input_size
    config = GAEConfig(embedding_dim=args.embedding_dim, epochs=args.epochs, seed=args.seed, variational=args.variational)
    print(f"tracing {args.model} at input size {input_size}", file=sys.stderr)
    start = time.perf_counter()
    model = get_model(args.model, pretrained=False)
    try:
        layers = describe_layers(model, input_size, model_name=args.model)  # the model-and-input check first
    except ConfigError as error:
        raise flag_error(error) from None
    graph = build_graph(model, input_size, layers=layers)
    graph_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = node_embeddings(graph, config, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    embedding_seconds = time.perf_counter() - start
    units = [u.module_names for u in make_pruning_method("channel", model, input_size).units]
    seeds = (config.seed, config.seed + 1, config.seed + 2)
    quality = gae_quality(graph, units, config, seeds, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    ops = graph.op_counts()
    summary = {
        "model": args.model,
        "input_size": list(input_size),
        "nodes": graph.num_nodes,
        "edges": graph.num_edges,
        "prunable_layers": sum(ops.get(op, 0) for op in PRUNABLE_OPS),
        "ops": ops if args.json else ", ".join(f"{op}={count}" for op, count in ops.items()),
        "embedding_dim": config.embedding_dim,
        "embedding_quality": quality.to_dict(3) if args.json else _quality_line(quality.to_dict(3)),
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


def _quality_line(figures: dict) -> str:
    """The unit-embedding probes in one line (seeds: this one and the next two)."""
    return (
        f"{figures['units']} units in {figures['stages']} stages: stage probe {figures['stage_probe_accuracy']}, "
        f"same-stage neighbour {figures['same_stage_nn_rate']}, stage separation {figures['stage_separation']}, "
        f"seed stability {figures['seed_stability']}, position R2 {figures['position_probe_r2']}"
    )
