"""Time to turn a model into layer embeddings: tracing the graph, training the GAE, a cache hit.

    python benchmarks/embedding_speed.py --models resnet56 tv_mobilenet_v2 --repeats 3 \
        --json-out benchmarks/results/embedding_speed.json

Each figure is the median of ``--repeats`` timed calls after one untimed warm-up. Training is timed
without the cache (``use_cache=False``); the cache hit reads a file written once into a fresh
temporary folder. Goal from issue 3: graph + GAE under 5 s for ResNet-56 on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import tempfile

from agmc_env.embedding import GAEConfig, node_embeddings
from agmc_env.graph import build_graph
from agmc_env.models import get_model, get_spec
from harness.reporting import markdown_table, publish
from harness.timing import machine_summary, median, time_call

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--models", nargs="+", default=["resnet56", "tv_mobilenet_v2"])
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--epochs", type=int, default=GAEConfig.epochs)
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()

config = GAEConfig(epochs=args.epochs)
rows = []
for name in args.models:
    model = get_model(name, pretrained=False)  # the graph depends on the architecture only
    input_size = get_spec(name).input_size
    graph = build_graph(model, input_size)
    graph_s = median(time_call(lambda: build_graph(model, input_size), repeats=args.repeats))
    train_s = median(time_call(lambda: node_embeddings(graph, config, use_cache=False), repeats=args.repeats))
    with tempfile.TemporaryDirectory() as cache:
        result = node_embeddings(graph, config, cache_dir=cache)
        hit_s = median(time_call(lambda: node_embeddings(graph, config, cache_dir=cache), repeats=args.repeats))
        assert node_embeddings(graph, config, cache_dir=cache).from_cache
    rows.append({
        "model": name, "input_size": list(input_size), "nodes": graph.num_nodes, "edges": graph.num_edges,
        "graph_s": round(graph_s, 4), "gae_train_s": round(train_s, 3), "total_s": round(graph_s + train_s, 3),
        "cache_hit_s": round(hit_s, 4), "epochs": config.epochs, "auc": round(result.auc, 4), "ap": round(result.ap, 4),
    })  # fmt: skip

table = markdown_table(
    ["model", "input", "nodes", "edges", "build graph s", "train GAE s", "total s", "cache hit s", "AUC", "AP"],
    [[r["model"], "x".join(map(str, r["input_size"])), r["nodes"], r["edges"], r["graph_s"], r["gae_train_s"],
      r["total_s"], r["cache_hit_s"], r["auc"], r["ap"]] for r in rows],
    align="llrrrrrrrr",
)  # fmt: skip
publish(table, args.json_out, {"config": vars(config), "rows": rows}, machine_summary())
