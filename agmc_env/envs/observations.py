"""Observation types of ``ModelCompression-v0``: small strategy objects chosen by name.

Each has ``space()`` (built once) and ``observe(state)`` (called every step):

- ``"vector"``: a ``Box(-1, 1)``: the current unit's static features (the learned graph embedding,
  or AMC's rule-based features) concatenated with the dynamic state. With ``action_mode="one_shot"``
  the static features of all units are concatenated instead of one unit's.
- ``"graph"``: a ``Dict`` of padded ``Box``es holding the whole network graph, for agents with their
  own GNN (SB3 handles a ``Dict`` of ``Box``es; it rejects ``spaces.Graph``).

The dynamic state (AMC's) is four numbers in [0, 1]: position (units done / units), cost removed
so far, AMC's "rest": the cost the units after the current one still hold (both as fractions of
the original cost of the target, FLOPs or params), and the previous ratio. (The first version had
the cost still to remove instead of "rest"; with the budget fixed it is ``removed`` mirrored, so it
told the agent nothing new.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from gymnasium import spaces

DYNAMIC_FEATURES = ("position", "removed", "rest", "previous_ratio")


@dataclass(frozen=True)
class EpisodeState:
    """Where an episode stands, as the observation types see it.

    Attributes:
        position: index of the unit to decide next (``num_units`` once the episode is over).
        num_units: prunable units of the model.
        removed: cost removed so far, as a fraction of the original cost.
        rest: cost the units after the current one still hold (what pruning them entirely would
            remove), as a fraction of the original cost.
        previous_ratio: the last applied pruning ratio (0 at the start).
    """

    position: int
    num_units: int
    removed: float
    rest: float
    previous_ratio: float

    def dynamic(self) -> np.ndarray:
        values = (self.position / self.num_units, self.removed, self.rest, self.previous_ratio)
        return np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)


class ObservationType(Protocol):
    def space(self) -> spaces.Space: ...

    def observe(self, state: EpisodeState) -> Any: ...


class VectorObservation:
    """Static unit features ⊕ dynamic state, as one float32 vector in [-1, 1].

    Args:
        unit_features: ``[U, d]`` static features, already in [-1, 1].
        all_units: observe every unit's features at once (for ``action_mode="one_shot"``).
    """

    def __init__(self, unit_features: np.ndarray, all_units: bool = False) -> None:
        self.unit_features = np.clip(np.asarray(unit_features, dtype=np.float32), -1.0, 1.0)
        self.all_units = all_units
        static = self.unit_features.size if all_units else self.unit_features.shape[1]
        self._space = spaces.Box(-1.0, 1.0, (static + len(DYNAMIC_FEATURES),), np.float32)

    def space(self) -> spaces.Box:
        return self._space

    def observe(self, state: EpisodeState) -> np.ndarray:
        if self.all_units:
            static = self.unit_features.reshape(-1)
        else:
            static = self.unit_features[min(state.position, len(self.unit_features) - 1)]
        return np.concatenate([static, state.dynamic()]).astype(np.float32, copy=False)


class GraphObservation:
    """The whole graph as a ``Dict`` of padded arrays, plus the current node and the dynamic state.

    Keys: ``node_features`` ``[N, F]`` in [-1, 1] (each column scaled by its largest magnitude),
    ``node_mask`` ``[N]`` (1 for real nodes), ``edge_index`` ``[2, E]`` int64 (padding edges are
    ``0 -> 0``), ``edge_mask`` ``[E]``, ``current_node`` ``[1]`` int64 (the graph node of the unit
    to decide next), ``state`` ``[4]`` (the dynamic state).

    Args:
        node_features: ``[n, F]`` raw node features of the graph.
        edge_index: ``[2, e]`` edges.
        unit_nodes: ``[U]`` graph node of each unit.
        max_nodes, max_edges: pad to these sizes (default: the graph's own sizes).
    """

    def __init__(
        self,
        node_features: np.ndarray,
        edge_index: np.ndarray,
        unit_nodes: np.ndarray,
        max_nodes: int | None = None,
        max_edges: int | None = None,
    ) -> None:
        features = np.nan_to_num(np.asarray(node_features, dtype=np.float64), posinf=0.0, neginf=0.0)
        edges = np.asarray(edge_index, dtype=np.int64).reshape(2, -1)
        n, e = features.shape[0], edges.shape[1]
        self.max_nodes, self.max_edges = max_nodes or n, max(max_edges or e, 1)
        if n > self.max_nodes or e > self.max_edges:
            raise ValueError(f"graph of {n} nodes / {e} edges exceeds the padding {self.max_nodes}/{self.max_edges}")
        scale = np.abs(features).max(axis=0)
        scale[scale == 0] = 1.0
        self._static = {
            "node_features": np.zeros((self.max_nodes, features.shape[1]), np.float32),
            "node_mask": np.zeros(self.max_nodes, np.float32),
            "edge_index": np.zeros((2, self.max_edges), np.int64),
            "edge_mask": np.zeros(self.max_edges, np.float32),
        }
        self._static["node_features"][:n] = features / scale
        self._static["node_mask"][:n] = 1.0
        self._static["edge_index"][:, :e] = edges
        self._static["edge_mask"][:e] = 1.0
        self.unit_nodes = np.asarray(unit_nodes, dtype=np.int64)
        self._space = spaces.Dict(
            {
                "node_features": spaces.Box(-1.0, 1.0, self._static["node_features"].shape, np.float32),
                "node_mask": spaces.Box(0.0, 1.0, (self.max_nodes,), np.float32),
                "edge_index": spaces.Box(0, self.max_nodes - 1, (2, self.max_edges), np.int64),
                "edge_mask": spaces.Box(0.0, 1.0, (self.max_edges,), np.float32),
                "current_node": spaces.Box(0, self.max_nodes - 1, (1,), np.int64),
                "state": spaces.Box(0.0, 1.0, (len(DYNAMIC_FEATURES),), np.float32),
            }
        )

    def space(self) -> spaces.Dict:
        return self._space

    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        node = self.unit_nodes[min(state.position, len(self.unit_nodes) - 1)]
        # Copies, so an agent that writes into its observation cannot corrupt the next one.
        obs = {key: value.copy() for key, value in self._static.items()}
        obs["current_node"] = np.array([node], dtype=np.int64)
        obs["state"] = state.dynamic()
        return obs


def make_observation(name: str, unit_features: np.ndarray, graph_arrays: dict[str, np.ndarray], one_shot: bool) -> ObservationType:
    """Build the observation type ``name`` (a key of :data:`OBSERVATION_TYPES`)."""
    if name not in OBSERVATION_TYPES:
        raise ValueError(f"observation must be one of {tuple(OBSERVATION_TYPES)}, got {name!r}")
    return OBSERVATION_TYPES[name](unit_features, graph_arrays, one_shot)


OBSERVATION_TYPES = {
    "vector": lambda features, _graph, one_shot: VectorObservation(features, all_units=one_shot),
    "graph": lambda _features, graph, _one_shot: GraphObservation(
        graph["node_features"], graph["edge_index"], graph["unit_nodes"]
    ),
}
