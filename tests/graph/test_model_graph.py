"""The model graph: exact node/edge counts on the CIFAR ResNets, conv coverage on torchvision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.cost import count_cost
from agmc_env.errors import ConfigError
from agmc_env.graph import NUM_FEATURES, OPS, GraphTraceError, build_graph
from agmc_env.layer_table import describe_layers
from agmc_env.models import get_model

TORCHVISION = (
    "tv_resnet18", "tv_resnet50", "tv_mobilenet_v2", "tv_mobilenet_v3_small", "tv_mobilenet_v3_large",
    "tv_vgg16", "tv_densenet121", "tv_efficientnet_b0", "tv_regnet_y_400mf", "tv_shufflenet_v2_x1_0",
)  # fmt: skip


@pytest.mark.parametrize("depth", [20, 56])
def test_cifar_resnet_hand_count(depth: int) -> None:
    n = (depth - 2) // 6  # basic blocks per stage, 3 stages
    graph = build_graph(get_model(f"resnet{depth}", pretrained=False), (3, 32, 32))
    # Stem: conv, bn, relu. Block: conv, bn, relu, conv, bn, add, relu (an identity shortcut is an
    # edge, not a node). Stages 2 and 3 open with a PadShortcut node. Head: pool, flatten, linear.
    assert graph.num_nodes == 3 + 7 * 3 * n + 2 + 3
    # Stem: 2 edges inside. Block: in->conv1->bn1->relu->conv2->bn2->add, in->add, add->relu = 8,
    # one more for the PadShortcut detour (in->pad->add). Head: relu->pool->flatten->linear = 3.
    assert graph.num_edges == 2 + 8 * 3 * n + 2 + 3
    assert graph.op_counts() == {
        "conv": 6 * n + 1, "batch_norm": 6 * n + 1, "activation": 6 * n + 1, "add": 3 * n,
        "other": 2, "pooling": 1, "flatten": 1, "linear": 1,
    }  # fmt: skip
    assert graph.node_ops[graph.module_to_node["layer2.0.shortcut"]] == "other"


def test_tiny_cnn_edges(tiny_cnn: nn.Module) -> None:
    graph = build_graph(tiny_cnn, (3, 32, 32))
    edges = {(graph.node_names[a], graph.node_names[b]) for a, b in graph.data.edge_index.t().tolist()}
    assert graph.num_nodes == 13 and len(edges) == graph.num_edges == 13
    assert ("relu", "add") in edges  # the residual, from the first relu to the add
    assert ("bn3", "add") in edges and ("fc", "flatten") not in edges


def test_features(tiny_cnn: nn.Module) -> None:
    graph = build_graph(tiny_cnn, (3, 32, 32))
    x = graph.data.x
    assert x.shape == (13, NUM_FEATURES) and x.dtype == torch.float32 and torch.isfinite(x).all()
    assert torch.equal(x[:, : len(OPS)].sum(1), torch.ones(13))
    conv2 = graph.nodes[graph.module_to_node["conv2"]]
    assert (conv2.in_channels, conv2.out_channels, conv2.kernel, conv2.in_spatial) == (8, 16, 3, 1024)
    assert graph.data.edge_index.dtype == torch.long


def test_macs_agree_with_cost_counter() -> None:
    model = get_model("resnet20", pretrained=False)
    graph = build_graph(model, (3, 32, 32))
    assert sum(node.macs for node in graph.nodes) == count_cost(model, (3, 32, 32)).macs


class _Reused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.max_pool2d(self.conv(x), 2)[:, :3])  # 32x32, then 16x16


def test_node_macs_are_the_layer_table_calls(tiny_cnn: nn.Module) -> None:
    table = describe_layers(tiny_cnn, (3, 32, 32))
    graph = build_graph(tiny_cnn, (3, 32, 32), layers=table)
    assert {name: graph.nodes[graph.module_to_node[name]].macs for name in table.names} == table.layer_macs()
    assert sum(node.macs for node in graph.nodes) == table.macs
    # A layer called twice is two nodes, each with the MACs of its own call.
    graph = build_graph(_Reused(), (3, 32, 32))
    assert [(name, graph.nodes[i].macs) for i, name in enumerate(graph.node_names) if graph.nodes[i].macs] == [
        ("conv", 27 * 4 * 1024),
        ("conv:1", 27 * 4 * 256),
    ]
    with pytest.raises(ConfigError, match="described for input_size"):
        build_graph(tiny_cnn, (3, 16, 16), layers=table)


@pytest.mark.parametrize("name", TORCHVISION)
def test_every_conv_is_exactly_one_node(name: str) -> None:
    model = get_model(name, pretrained=False)
    graph = build_graph(model, (3, 64, 64))
    layers = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    nodes = [graph.module_to_node[n] for n in layers]
    assert len(set(nodes)) == len(layers)
    assert {graph.node_ops[i] for i in nodes} <= {"conv", "depthwise_conv", "linear"}
    assert graph.data.edge_index.max() < graph.num_nodes


def test_depthwise_and_concat_ops() -> None:
    ops = build_graph(get_model("tv_mobilenet_v2", pretrained=False), (3, 64, 64)).op_counts()
    assert ops["depthwise_conv"] == 17 and ops["add"] == 10
    assert build_graph(get_model("tv_densenet121", pretrained=False), (3, 64, 64)).op_counts()["concat"] == 62


def test_modes_and_statistics_unchanged(tiny_cnn: nn.Module) -> None:
    tiny_cnn.train()
    before = tiny_cnn.bn1.running_mean.clone()
    build_graph(tiny_cnn, (3, 32, 32))
    assert tiny_cnn.training and tiny_cnn.bn1.training
    assert torch.equal(tiny_cnn.bn1.running_mean, before)


class _DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) if x.sum() > 0 else x


def test_untraceable_module_is_named() -> None:
    model = nn.Sequential(nn.Conv2d(3, 3, 1), _DataDependent())
    with pytest.raises(GraphTraceError, match=r"module '1' \(_DataDependent\).*control flow"):
        build_graph(model, (3, 8, 8))


def test_bad_input_size(tiny_cnn: nn.Module) -> None:
    with pytest.raises(ValueError, match="input_size"):
        build_graph(tiny_cnn, (3, 0, 32))
    with pytest.raises(GraphTraceError, match="input of size"):
        build_graph(tiny_cnn, (4, 32, 32))
