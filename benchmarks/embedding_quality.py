"""Does the unit embedding carry what a pruning agent needs? Old features against new (issue 11).

    python benchmarks/embedding_quality.py --json-out benchmarks/results/embedding_quality.json

For each model, its inner prunable units (``units="inner"``) are scored by
:mod:`agmc_env.embedding.quality`: leave-one-out linear probes of the stage (feature-map
resolution) and of the position, the rate at which a unit's nearest neighbour is of its own stage,
the between/within-stage distance ratio, the seed stability (correlation of the unit-unit
similarity matrices over pairs of GAE seeds), effective rank, and the link-prediction AUC. Rows:
AMC's rule features; the first GNN version (depth sin/cos waves, 30 dimensions); the structural
features at several embedding sizes (the default is ``GAEConfig().embedding_dim``). Trained without
the cache, so the figures are those of a fresh run; a few seconds per row on a 2-core CPU.
"""

from __future__ import annotations

import argparse

from agmc_env.embedding import GAEConfig, rule_unit_features
from agmc_env.embedding.quality import embedding_quality, gae_quality, unit_stages
from agmc_env.graph import build_graph
from agmc_env.layer_table import describe_layers
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import make_pruning_method
from harness.reporting import markdown_table, publish
from harness.timing import machine_summary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--models", nargs="+", default=["resnet20", "resnet56", "tv_mobilenet_v2"])
parser.add_argument("--dims", type=int, nargs="+", default=[4, 8, 16], help="embedding sizes of the structural rows")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="GAE seeds (stability over their pairs)")
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()

FIGURES = ("stage_probe_accuracy", "position_probe_r2", "same_stage_nn_rate", "stage_separation",
           "seed_stability", "effective_rank", "mean_cosine", "link_auc")  # fmt: skip
rows = []
for name in args.models:
    model, input_size = get_model(name, pretrained=False), get_spec(name).input_size
    layers = describe_layers(model, input_size)
    units = [u.module_names for u in make_pruning_method("channel", model, input_size, layers=layers).units]
    graph = build_graph(model, input_size, layers=layers)
    variants = [("rule (AMC)", embedding_quality(rule_unit_features(graph, units), unit_stages(graph, units)))]
    old_graph = build_graph(model, input_size, layers=layers, depth_encoding=True)
    old = gae_quality(old_graph, units, GAEConfig(embedding_dim=30), seeds=args.seeds, use_cache=False)
    variants.append(("gnn v1: depth waves, 30-d", old))
    for dim in args.dims:
        quality = gae_quality(graph, units, GAEConfig(embedding_dim=dim), seeds=args.seeds, use_cache=False)
        default = " (default)" if dim == GAEConfig().embedding_dim else ""
        variants.append((f"gnn: structure, {dim}-d{default}", quality))
    for label, quality in variants:
        rows.append({"model": name, "features": label, "units": quality.units, "stages": quality.stages, **quality.to_dict(3)})

table = markdown_table(
    ["model", "features", "stage probe", "position R²", "same-stage NN", "stage separation", "seed stability",
     "eff. rank", "mean cos", "link AUC"],
    [[r["model"], r["features"], *("–" if r[k] is None else r[k] for k in FIGURES)] for r in rows],
    align="llrrrrrrrr",
)  # fmt: skip
publish(table, args.json_out, {"seeds": args.seeds, "rows": rows}, machine_summary())
