"""Exact MACs and params of a ratio vector, from the traced shapes, without pruning anything.

Every conv/linear layer's cost is ``(in / groups) * kernel * out * positions``: the MAC formula of
:func:`agmc_env.layer_table.macs_per_output` times the output elements, with ``positions`` (output
pixels) read from the model's :class:`~agmc_env.layer_table.LayerTable`. Each prunable unit removes a
fixed number of entries from some of those ``in``/``out`` dimensions per removed channel (read off
its dependency group: 1 per channel, H*W where a flatten feeds a linear). So a ratio vector maps to
layer shapes by one small matrix product, and the count is the same integer
:func:`agmc_env.cost.count_cost` gives for the physically pruned model. A grouped conv keeps its
``groups`` (its units remove whole multiples of them, see :class:`~agmc_env.pruning.PrunableUnit`),
so ``in / groups`` stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from agmc_env.cost import Cost
from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import LayerTable, describe_layers, output_width
from agmc_env.pruning import tp_adapter
from agmc_env.pruning.units import PrunableUnit, with_items


class CostModel:
    """Analytic cost of pruning ``units`` of ``model`` at given ratios.

    Args:
        model: the unpruned model (read, not modified).
        units: its prunable units, from :func:`~agmc_env.pruning.find_units`.
        input_size: ``(C, H, W)`` of one input.
        round_to: the same ``round_to`` that :func:`~agmc_env.pruning.prune_model` will get.
            (default: ``None``)
        layers: the model's :func:`~agmc_env.layer_table.describe_layers` table, if already built.
            (default: ``None``: described here)

    Attributes:
        base: :class:`~agmc_env.cost.Cost` of the unpruned model (equal to ``count_cost``).
        channels: channels of each unit.
    """

    def __init__(
        self,
        model: nn.Module,
        units: Sequence[PrunableUnit],
        input_size: Sequence[int],
        round_to: int | None = None,
        layers: LayerTable | None = None,
    ) -> None:
        if layers is None:
            layers = describe_layers(model, input_size)
        layers.check_input_size(input_size)
        self.units = with_items(units, model, input_size)
        self.round_to = round_to
        self.channels = [u.channels for u in self.units]
        self.base = Cost.of(layers)
        modules = dict(model.named_modules())
        positions = layers.positions()
        layer_names = layers.names
        layer_index = {n: i for i, n in enumerate(layer_names)}
        n_units = len(self.units)

        def layer_array(fn) -> np.ndarray:
            return np.array([fn(modules[n]) for n in layer_names], dtype=np.int64)

        self._in0 = layer_array(lambda m: m.in_channels if isinstance(m, nn.modules.conv._ConvNd) else m.in_features)
        self._out0 = layer_array(output_width)
        self._groups0 = layer_array(lambda m: getattr(m, "groups", 1))
        self._kernel = layer_array(lambda m: int(np.prod(getattr(m, "kernel_size", (1,)))))
        self._bias = layer_array(lambda m: int(getattr(m, "bias", None) is not None))
        self._positions = np.array([positions[n] for n in layer_names], dtype=np.int64)
        self._depthwise = layer_array(tp_adapter.is_depthwise).astype(bool)
        self._m_in = np.zeros((len(layer_names), n_units), dtype=np.int64)
        self._m_out = np.zeros((len(layer_names), n_units), dtype=np.int64)

        channel_names: list[str] = []
        channel_rows: list[np.ndarray] = []
        self._unit_layers: list[set[int]] = [set() for _ in range(n_units)]
        for u, unit in enumerate(self.units):
            for item in unit.items:
                per_channel, remainder = divmod(item.count, unit.channels)
                if remainder:
                    raise UnsupportedModelError(
                        f"{item.module_name!r}: {item.count} entries do not split over {unit.channels} channels"
                    )
                if item.kind == "channel":
                    if item.module_name not in channel_names:
                        channel_names.append(item.module_name)
                        channel_rows.append(np.zeros(n_units, dtype=np.int64))
                    channel_rows[channel_names.index(item.module_name)][u] += per_channel
                    continue
                if item.module_name not in layer_index:
                    raise UnsupportedModelError(
                        f"layer {item.module_name!r} of unit {unit.name!r} never runs in the forward pass"
                    )
                row = layer_index[item.module_name]
                self._unit_layers[u].add(row)
                if item.kind in ("out", "depthwise"):
                    self._m_out[row, u] += per_channel
                if item.kind in ("in", "depthwise"):
                    self._m_in[row, u] += per_channel

        # Per-channel modules (batch norm, ...): every own parameter is one value per channel.
        self._ch0 = np.zeros(len(channel_names), dtype=np.int64)
        self._per_channel = np.zeros(len(channel_names), dtype=np.int64)
        for i, name in enumerate(channel_names):
            params = list(modules[name].parameters(recurse=False))
            widths = {p.shape[0] for p in params}
            if any(p.dim() != 1 for p in params) or len(widths) != 1:
                raise UnsupportedModelError(
                    f"cannot model the cost of pruning {name!r} ({type(modules[name]).__name__})"
                )
            self._ch0[i] = widths.pop()
            self._per_channel[i] = len(params)
        self._m_ch = np.stack(channel_rows) if channel_rows else np.zeros((0, n_units), dtype=np.int64)

        modelled = {*layer_names, *channel_names}
        self._fixed_params = sum(
            p.numel() for name, m in model.named_modules() if name not in modelled for p in m.parameters(recurse=False)
        )
        self._layer_macs0 = self._layer_costs(np.zeros(n_units, dtype=np.int64))[0]
        check = self._cost_of_removed(np.zeros(n_units, dtype=np.int64))
        if check != self.base:  # a layer type or a reused layer this model does not describe
            raise UnsupportedModelError(
                f"cost model of the unpruned {type(model).__name__} {check} disagrees with count_cost {self.base}"
            )

    def _layer_costs(self, removed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        in_ch = self._in0 - self._m_in @ removed
        out_ch = self._out0 - self._m_out @ removed
        in_per_group = np.where(self._depthwise, 1, in_ch // self._groups0)
        weights = in_per_group * self._kernel * out_ch
        return weights * self._positions, weights + self._bias * out_ch

    def _cost_of_removed(self, removed: np.ndarray) -> Cost:
        macs, layer_params = self._layer_costs(removed)
        channel_params = (self._ch0 - self._m_ch @ removed) * self._per_channel
        return Cost(
            macs=int(macs.sum()),
            params=int(self._fixed_params + layer_params.sum() + channel_params.sum()),
        )

    def removed_channels(self, ratios: Sequence[float]) -> np.ndarray:
        """Channels each unit loses at ``ratios`` (one entry per unit)."""
        if len(ratios) != len(self.channels):
            raise ConfigError(f"ratios must have one entry per unit ({len(self.channels)}), got {len(ratios)}")
        return np.array(
            [u.channels - u.kept(float(r), self.round_to) for u, r in zip(self.units, ratios)], dtype=np.int64
        )

    def cost(self, ratios: Sequence[float]) -> Cost:
        """MACs and params of the model pruned at ``ratios``, as ``count_cost`` would count them."""
        return self._cost_of_removed(self.removed_channels(ratios))

    def unit_macs(self) -> list[int]:
        """MACs of the unpruned layers each unit cuts (its producers and consumers)."""
        return [int(sum(self._layer_macs0[row] for row in rows)) for rows in self._unit_layers]

