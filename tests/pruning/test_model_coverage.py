"""Models Torch-Pruning finds hard: grouped convs pruned as units, channel shuffles and attention
blocks refused group by group with a reason, never a crash from inside the dependency."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from agmc_env.cost import count_cost
from agmc_env.errors import UnsupportedModelError
from agmc_env.models import get_model
from agmc_env.pruning import BudgetWall, CostModel, find_units, make_pruning_method, prune_model, search_units
from agmc_env.pruning import tp_adapter, tp_guards
from tests.pruning.masking import check_cost_model_exact, check_masked_equivalence, randomise_batchnorm

SIZE = (3, 64, 64)


def _model(name: str) -> nn.Module:
    return get_model(name, pretrained=False, num_classes=10, init_seed=0)


@pytest.fixture(scope="module")
def resnext() -> nn.Module:
    return randomise_batchnorm(_model("tv_resnext50_32x4d"))


def test_resnext50_prunes_as_many_units_as_resnet50(resnext: nn.Module) -> None:
    units = find_units(resnext, SIZE)
    assert len(units) == len(find_units(_model("tv_resnet50"), SIZE)) == 33
    grouped = [u for u in units if u.channel_groups > 1]
    assert len(grouped) == 32 and all(u.channel_groups == 32 for u in grouped)
    first = next(u for u in units if u.name == "layer1.0.conv1")
    assert first.consumer_names == ("layer1.0.conv2",) and first.channels == 128
    # Whole positions of every group: 128 channels in 32 groups of 4 keep 32, 64, 96 or 128.
    assert {first.kept(r) for r in np.linspace(0, 1, 41)} == {32, 64, 96, 128}
    assert first.kept(0.3, round_to=8) % 32 == 0


def test_grouped_convs_keep_their_groups_equal_and_outputs_equal_the_masked_model(resnext: nn.Module) -> None:
    units, pruned = check_masked_equivalence(resnext, SIZE, ratios_seed=0)
    assert any(u.channel_groups > 1 for u in units)
    cut = 0
    for name, module in pruned.named_modules():
        if isinstance(module, nn.Conv2d) and module.groups > 1:
            original = resnext.get_submodule(name)
            assert module.groups == original.groups  # the group count is kept ...
            assert module.in_channels % module.groups == 0 and module.out_channels % module.groups == 0
            assert module.weight.shape[1] == module.in_channels // module.groups  # ... every group equally wide
            cut += module.in_channels < original.in_channels and module.out_channels < original.out_channels
    assert cut >= 8  # grouped convs really lose input and output channels


@pytest.mark.parametrize("name", ["tv_regnet_y_400mf", "tv_shufflenet_v2_x0_5"])
def test_regnet_and_shufflenet_outputs_equal_the_masked_model(name: str) -> None:
    units, _ = check_masked_equivalence(randomise_batchnorm(_model(name)), SIZE, ratios_seed=1)
    assert len(units) >= 18


@pytest.mark.parametrize("name", ["tv_resnext50_32x4d", "tv_regnet_y_400mf", "tv_regnet_x_400mf", "tv_shufflenet_v2_x0_5"])
def test_cost_model_is_exact_and_half_the_flops_is_reachable_with_default_units(name: str) -> None:
    model = _model(name)
    cost_model = check_cost_model_exact(model, find_units(model, SIZE), SIZE)
    BudgetWall(cost_model, preserve=0.5)  # raises if 50 % of the FLOPs were out of reach


def _shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleOnly(nn.Module):
    """conv -> channel shuffle -> classifier: the only prunable group passes the shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(_shuffle(self.conv(x)).mean((2, 3)))


def test_channel_shuffle_is_refused_naming_where_it_is() -> None:
    model = torchvision.models.shufflenet_v2_x0_5(num_classes=10).eval()
    search = search_units(model, SIZE, "all")
    # The streams through the shuffles are left out, with the reason; the rest is prunable.
    assert {u.name for u in search.units} >= {"conv1.0", "stage2.0.branch2.0", "conv5.0"}
    root, reason = search.refused[0]
    assert root == "stage2.0.branch1.2" and "channel shuffle" in reason and "'stage2" in reason
    with pytest.raises(UnsupportedModelError) as caught:
        make_pruning_method("channel", ShuffleOnly().eval(), (3, 16, 16))
    message = str(caught.value)
    assert "left out the group of 'conv'" in message and "channel shuffle" in message
    assert "--pruning fine_grained" in message  # a suggestion the user can type


class WindowedMLP(nn.Module):
    """A token MLP whose hidden width is prunable, between reshapes that multiply Torch-Pruning's
    index lists far past its limit (as Swin's window partitions do)."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 1)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.head = nn.Linear(dim * 32 * 32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).permute(0, 2, 3, 1)  # (B, H, W, C), as Swin keeps its features
        tokens = tokens + self.mlp(tokens)
        return self.head(tokens.flatten(1))


def test_attention_style_graph_explosion_is_refused_with_the_limit_and_the_mlp_still_prunes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tp_guards, "MAX_GROUP_INDICES", 20_000)
    model = WindowedMLP().eval()
    search = search_units(model, (3, 32, 32), "all")
    assert [u.name for u in search.units] == ["mlp.0"]
    assert any(root == "embed" and "20,000 channel indices" in reason for root, reason in search.refused)
    pruned = prune_model(model, list(search.units), [0.5])
    assert pruned.mlp[0].out_features == 128 and pruned(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.slow
def test_swin_t_prunes_its_mlp_widths_instead_of_running_out_of_memory() -> None:
    model = torchvision.models.swin_t(num_classes=10).eval()
    search = search_units(model, SIZE)
    assert [u.name for u in search.units][:2] == ["features.1.0.mlp.0", "features.1.1.mlp.0"]
    assert len(search.units) == 12 and search.refused
    ratios = [0.8] * len(search.units)
    assert CostModel(model, list(search.units), SIZE).cost(ratios) == count_cost(
        prune_model(model, list(search.units), ratios), SIZE
    )


def test_a_dependency_graph_that_cannot_be_built_is_an_unsupported_model_error() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

    with pytest.raises(tp_adapter.DependencyGraphError, match="Broken .*RuntimeError: boom"):
        tp_adapter.build_dependency_graph(Broken(), (3, 8, 8))


class Gate(nn.Module):
    """conv2(conv1(x) * x): conv1's channels are coupled with the block's input, not its own."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x) * x)


def _whole_graph_fails(monkeypatch: pytest.MonkeyPatch, model: nn.Module) -> None:
    build = tp_adapter.build_dependency_graph

    def failing_for_the_whole_model(block: nn.Module, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if block is model:
            raise tp_adapter.DependencyGraphError("Torch-Pruning cannot build the dependency graph of it (test)")
        return build(block, *args, **kwargs)

    monkeypatch.setattr(tp_adapter, "build_dependency_graph", failing_for_the_whole_model)


def test_blockwise_units_when_the_whole_graph_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model("tv_resnet18")
    whole = find_units(model, SIZE)
    _whole_graph_fails(monkeypatch, model)
    search = search_units(model, SIZE)
    assert search.blockwise and [u.name for u in search.units] == [u.name for u in whole]  # the 8 block-internal
    assert [u.items for u in search.units] == [u.items for u in whole]
    with pytest.raises(UnsupportedModelError, match="units='all' needs .* whole ResNet.*--units inner"):
        search_units(model, SIZE, "all")
    # A block's input is outside it: channels coupled with it (here by a product) are not the block's.
    gated = nn.Sequential(nn.Conv2d(3, 8, 3), Gate(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).eval()
    assert [u.name for u in find_units(gated, (3, 16, 16))] == ["0", "1.conv2"]  # 0 and 1.conv1 are one group
    _whole_graph_fails(monkeypatch, gated)
    assert search_units(gated, (3, 16, 16)).units == ()
