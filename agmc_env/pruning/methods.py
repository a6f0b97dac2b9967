"""Pruning methods as small strategy objects chosen by name: :data:`PRUNING_METHODS`.

A method, built for one model, knows its prunable :attr:`~PruningMethod.units`, their exact
:attr:`~PruningMethod.cost_model`, how to :meth:`~PruningMethod.prune` a copy of the model at a ratio
per unit, what each ratio keeps (:meth:`~PruningMethod.kept_sizes`) and how to describe the result
for :func:`~agmc_env.pruning.save_pruned` (:meth:`~PruningMethod.pruning_spec`):

- ``"channel"``: dependency-aware channel pruning; units are coupled layer groups, the pruned copy
  is physically smaller.
- ``"fine_grained"``: magnitude pruning of single weights; one unit per conv/linear layer, the copy
  keeps its shapes and its cost counts the non-zero weights.

Example:
    >>> from agmc_env.models import get_model
    >>> from agmc_env.pruning import make_pruning_method
    >>> method = make_pruning_method("channel", get_model("resnet20"), (3, 32, 32))
    >>> small = method.prune([0.5] * len(method.units))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from torch import nn

from agmc_env.cost import Cost
from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import LayerTable, describe_layers
from agmc_env.pruning.channel import prune_model
from agmc_env.pruning.cost_model import CostModel
from agmc_env.pruning.fine_grained import fine_grained_prune
from agmc_env.pruning.serialization import pruning_spec
from agmc_env.pruning.sparse_cost import LayerUnit, SparseCostModel, kept_weights
from agmc_env.pruning.unit_search import find_units, search_units
from agmc_env.pruning.units import PrunableUnit


class Unit(Protocol):
    """What every method's unit tells: where it is and the size a ratio applies to."""

    @property
    def index(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def module_names(self) -> tuple[str, ...]: ...

    @property
    def channels(self) -> int: ...  # channels of a channel unit, weights of a fine-grained one


class UnitCostModel(Protocol):
    """The exact cost of a ratio vector over a method's units (what the budget wall needs)."""

    base: Cost
    channels: list[int]

    def cost(self, ratios: Sequence[float]) -> Cost: ...

    def unit_macs(self) -> list[int]: ...


class PruningMethod(ABC):
    """One way to prune a given model, one ratio per unit.

    Args:
        model: the unpruned model (read, never modified: :meth:`prune` works on a copy).
        input_size: ``(C, H, W)`` of one input.
        unit_set: ``"inner"`` or ``"all"``: the channel units (see :func:`~agmc_env.pruning.find_units`).
            (default: ``"inner"``)
        layers: the model's :func:`~agmc_env.layer_table.describe_layers` table, if already built.
            (default: ``None``: described here)
        round_to: channel methods keep a multiple of this many channels per unit (e.g. 8, the
            widths a CPU's vector units or a GPU's tensor cores run fastest at). (default: ``None``)

    Attributes:
        units: the prunable units, in network order.
        cost_model: the exact cost of a ratio vector over ``units``.
    """

    name: ClassVar[str]
    rounds_channels: ClassVar[bool] = False  # whether ``round_to`` means anything to the method
    units: Sequence[Unit]
    cost_model: UnitCostModel

    def __init__(
        self,
        model: nn.Module,
        input_size: Sequence[int],
        unit_set: str = "inner",
        layers: LayerTable | None = None,
        round_to: int | None = None,
    ) -> None:
        if round_to is not None and not self.rounds_channels:
            raise ConfigError.for_option("round_to", f"applies to channel pruning only, not {self.name}; got {round_to!r}")
        self.model = model
        self.round_to = round_to
        self.input_size = tuple(input_size)
        self.unit_set = unit_set
        self.layers = layers if layers is not None else describe_layers(model, input_size)
        self.layers.check_input_size(input_size)
        self._find_units()

    @abstractmethod
    def _find_units(self) -> None:
        """Set :attr:`units` and :attr:`cost_model` (called once, at the end of ``__init__``)."""

    @abstractmethod
    def kept_size(self, unit: Unit, ratio: float) -> int:
        """What ``ratio`` keeps of ``unit``'s channels (or weights)."""

    @abstractmethod
    def prune(self, ratios: Sequence[float], importance: str = "l1", seed: int = 0) -> nn.Module:
        """A pruned copy of the model.

        Args:
            ratios: one ratio in ``[0, 1]`` per unit.
            importance: how channels are ranked, where the method ranks channels. (default: ``"l1"``)
            seed: seed of ``importance="random"``. (default: ``0``)
        """

    @abstractmethod
    def _architecture(self, ratios: Sequence[float]) -> tuple[list[PrunableUnit], list[int]]:
        """The channel units and their kept channels that rebuild the pruned model's shapes."""

    def kept_sizes(self, ratios: Sequence[float]) -> list[int]:
        """What each ratio keeps of its unit, one per ratio (a prefix of the units is fine)."""
        if len(ratios) > len(self.units):
            raise ConfigError(f"ratios must have at most one entry per unit ({len(self.units)}), got {len(ratios)}")
        return [self.kept_size(u, float(r)) for u, r in zip(self.units, ratios)]

    def pruning_spec(self, model_name: str, ratios: Sequence[float], /, **extra: Any) -> dict[str, Any]:
        """The JSON-safe record :func:`~agmc_env.pruning.save_pruned` stores with the pruned copy.

        Args:
            model_name: the zoo name of the unpruned model (only zoo models can be rebuilt).
            ratios: the ratios the model was pruned at.
            extra: JSON-safe values stored alongside (policy, accuracy, options; ``ratios`` too,
                if wanted in the file).
        """
        self._check_ratios(ratios)
        units, kept = self._architecture(ratios)
        return pruning_spec(model_name, units, kept, unit_set=self.unit_set, input_size=self.input_size, **extra)

    def _check_ratios(self, ratios: Sequence[float]) -> None:
        if len(ratios) != len(self.units):
            raise ConfigError(f"ratios must have one entry per unit ({len(self.units)}), got {len(ratios)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(units={len(self.units)}, unit_set={self.unit_set!r})"


class ChannelPruning(PruningMethod):
    """Dependency-aware channel pruning: coupled layers lose the same, least important channels."""

    name = "channel"
    rounds_channels = True

    def _find_units(self) -> None:
        self.search = search_units(self.model, self.input_size, self.unit_set, layers=self.layers)
        self.units: list[PrunableUnit] = list(self.search.units)
        self.cost_model = CostModel(self.model, self.units, self.input_size, round_to=self.round_to, layers=self.layers)

    def kept_size(self, unit: PrunableUnit, ratio: float) -> int:
        return unit.kept(ratio, self.round_to)

    def prune(self, ratios: Sequence[float], importance: str = "l1", seed: int = 0) -> nn.Module:
        self._check_ratios(ratios)
        return prune_model(self.model, self.units, ratios, importance=importance, round_to=self.round_to, seed=seed)

    def _architecture(self, ratios: Sequence[float]) -> tuple[list[PrunableUnit], list[int]]:
        return self.units, self.kept_sizes(ratios)


class FineGrainedPruning(PruningMethod):
    """Magnitude pruning of single weights, one unit per conv/linear layer; shapes are kept."""

    name = "fine_grained"  # single weights have no channel widths to round

    def _find_units(self) -> None:
        self.cost_model = SparseCostModel(self.model, self.input_size, layers=self.layers)
        self.units: list[LayerUnit] = self.cost_model.units

    def kept_size(self, unit: LayerUnit, ratio: float) -> int:
        return kept_weights(unit.channels, ratio)

    def prune(self, ratios: Sequence[float], importance: str = "l1", seed: int = 0) -> nn.Module:
        # The smallest weights go: there is no channel ranking, so importance and seed do not apply.
        self._check_ratios(ratios)
        return fine_grained_prune(self.model, {u.name: float(r) for u, r in zip(self.units, ratios)})

    def _architecture(self, ratios: Sequence[float]) -> tuple[list[PrunableUnit], list[int]]:
        # Every channel stays (the zeros are inside the weights), so the unpruned channel units
        # with all their channels describe the shapes.
        units = find_units(self.model, self.input_size, self.unit_set, layers=self.layers)
        return units, [u.channels for u in units]


PRUNING_METHODS: dict[str, type[PruningMethod]] = {
    ChannelPruning.name: ChannelPruning,
    FineGrainedPruning.name: FineGrainedPruning,
}


def make_pruning_method(
    name: str,
    model: nn.Module,
    input_size: Sequence[int],
    unit_set: str = "inner",
    layers: LayerTable | None = None,
    round_to: int | None = None,
) -> PruningMethod:
    """Build the method ``name`` of :data:`PRUNING_METHODS` for ``model`` (arguments as :class:`PruningMethod`).

    Raises:
        ConfigError: an unknown ``name``.
        UnsupportedModelError: the model has nothing the method can prune.
    """
    if name not in PRUNING_METHODS:
        raise ConfigError(f"pruning must be one of {tuple(PRUNING_METHODS)}, got {name!r}")
    method = PRUNING_METHODS[name](model, input_size, unit_set, layers, round_to)
    if not method.units:
        search = getattr(method, "search", None)
        why = f" ({search.explain()})" if search is not None and search.explain() else ""
        other = "inner" if unit_set == "all" else "all"
        raise UnsupportedModelError(
            f"model {type(model).__name__} has no prunable units with units={unit_set!r}, pruning={name!r}{why}; "
            f"try units={other!r} or pruning='fine_grained' (agmc: --units {other} or --pruning fine_grained), "
            "which prunes single weights of every conv/linear layer"
        )
    return method
