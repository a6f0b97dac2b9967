"""``ModelCompression-v0``: prune a trained CNN one unit at a time under a FLOPs or params budget."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import logger, spaces

from agmc_env.envs.config import EnvConfig
from agmc_env.envs.latency import env_latency_model, latency_info, measured_report
from agmc_env.errors import ConfigError, ConfigTypeError
from agmc_env.latency import LatencyModel
from agmc_env.envs.observations import EpisodeState, make_observation
from agmc_env.envs.render import PolicyView, render_ansi, render_rgb
from agmc_env.envs.resources import Resources, get_resources, graph_arrays
from agmc_env.envs.reward_cache import RewardCache
from agmc_env.envs.rewards import CompressionResult, compute_reward
from agmc_env.pruning import BudgetWall, Unit, UnitCostModel, recalibrate_batchnorm
from agmc_env.pruning import save_pruned as save_pruned_model


def _stop_below(options: dict[str, Any] | None) -> float | None:
    value = (options or {}).get("stop_below_accuracy")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value):
        raise ConfigError(f"reset option stop_below_accuracy must be None or an accuracy in percent, got {value!r}")
    return None if value is None else float(value)


def _describe(value: Any) -> str:
    """``repr`` of a wrong action, short, with its type."""
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


class ModelCompressionEnv(gym.Env[Any, np.ndarray]):
    """
    ## Description

    Automated model compression (AMC, He et al. 2018) with learned graph embeddings (AGMC, Yu et
    al. 2020) as a reinforcement-learning problem. The agent walks through the prunable units of a
    trained CNN in network order (a unit is a conv layer, or a group of layers whose output
    channels are coupled, e.g. through a residual add) and picks each unit's channel pruning ratio.
    After the last unit the model is pruned for real (dependency-aware, channels physically
    removed), evaluated on the search split, and the agent is rewarded with a function of the
    accuracy and the kept cost. A budget (a fraction of the original FLOPs, parameters, or latency
    measured on the env's device) is met by construction: AMC's action wall limits each ratio so the remaining units can still reach it.

    ## Action Space

    `Box(-1, 1, (1,), float32)`: the ratio of the current unit, mapped linearly onto
    `[0, max_ratio]`, then clipped into the budget wall's interval for this unit. Values outside
    `[-1, 1]` are clipped; NaN, infinities and wrong shapes raise `ConfigError` (a `ValueError`);
    anything but real numbers (a string such as `"0.5"`, `None`, a bool, an object) raises
    `ConfigTypeError` (a `ConfigError` and a `TypeError`). With
    `action_mode="one_shot"` the action is `Box(-1, 1, (U,))`, all `U` ratios at once, passed
    through the wall unit by unit in network order.

    ## Observation Space

    `observation="vector"` (default): `Box(-1, 1, (d + 4,), float32)`: the current unit's static
    features (`d` = 8 for the learned GNN embedding, AMC's rule-based features with
    `embedding="rule"`) followed by the dynamic state, each in `[0, 1]`:

    | Num | Observation       | Meaning                                                          |
    |-----|-------------------|------------------------------------------------------------------|
    | d   | position          | units decided / units                                            |
    | d+1 | removed           | cost removed so far, fraction of the original cost of the target |
    | d+2 | rest              | cost the later units still hold (AMC's "rest"), same unit        |
    | d+3 | previous ratio    | the ratio applied to the previous unit                           |

    With `action_mode="one_shot"` all units' features are concatenated: `(U * d + 4,)`.
    `observation="graph"`: a `Dict` of padded `Box`es with the whole graph (`node_features`,
    `node_mask`, `edge_index`, `edge_mask`), the `current_node` and the dynamic `state`.

    ## Rewards

    0 on every step but the last. On the last: the configured reward of the pruned model (see
    `agmc_env.envs.rewards`): `"accuracy"` (default, `acc / 100`), `"error"`, `"amc_flops"`
    (`-error * log(FLOPs)`), `"acc_flops"`, `"amc_params"`, `"acc_cost"`, `"amc_latency"`
    (`-error * log(latency in µs)`, with `target="latency"`), or a callable
    `reward(CompressionResult) -> float`. Its terms appear in `info` as `reward_*`.

    ## Starting State

    The unpruned model, the first unit, no ratio decided. The environment itself is deterministic;
    the seed matters only for randomised choices (`importance="random"`). A seeded reset also empties
    the env's reward cache, so `reward_cached` is the same for the same seed and actions.

    Early stopping (off by default; for population agents such as CEM that only need to know
    whether a policy beats the best so far): `reset(options={"stop_below_accuracy": best})` scores
    the episode's model on about a quarter of the reward images first and stops there when the
    accuracy is more than three standard errors below `best` (`Evaluator.screen`). A stopped
    episode's accuracy (and reward) is that quarter's estimate, twice as noisy as a full score; an
    episode that is not stopped gets exactly its full-score reward.

    ## Episode End

    Terminated after the last unit (one step per unit; a single step with `action_mode="one_shot"`).
    Never truncated by the env itself. An unfinished step's `info` holds the unit's `ratio`; the final
    `info` holds:

    | Key                    | What it is                                                                |
    |------------------------|---------------------------------------------------------------------------|
    | `ratios`               | the pruning ratio of each unit, as pruned                                 |
    | `policy_ratios`        | the ratios as decided, before `fill_budget` changed them                  |
    | `kept_macs`, `kept_flops`, `kept_params` | the pruned model's cost (exact, from the cost model)    |
    | `kept_flops_fraction`, `kept_params_fraction` | that cost as a fraction of the unpruned model's    |
    | `latency_predicted_ms` | `target="latency"` only: the pruned model's predicted latency (ms per forward pass of `latency_batch` images) |
    | `base_latency_ms`      | `target="latency"` only: the unpruned model's measured latency (ms)       |
    | `kept_latency_fraction`, `speedup_predicted` | `target="latency"` only: predicted / base, and base / predicted |
    | `latency_batch`        | `target="latency"` only: the batch the latencies are for                  |
    | `budget_met`           | whether the kept `target` cost is within `preserve` of the original's (the action wall sees to it) |
    | `budget_slack`         | allowed minus kept `target` cost, as a fraction of the original's (`preserve - kept_<target>_fraction`): `>= 0` when met, about 0 when the budget is filled |
    | `budget_filled`        | the fraction of the `target` cost given back by `fill_budget`             |
    | `accuracy`             | top-1 accuracy (percent) on the reward images                             |
    | `reward`, `reward_*`   | the reward and its terms                                                  |
    | `reward_cached`        | the pruned shape (the kept-channel vector) was scored before in this env and its accuracy reused: exact, the env being deterministic |
    | `early_stopped`        | the episode asked for early stopping and its accuracy is the estimate from a quarter of the images (see Starting State) |
    | `importance_seed`      | the seed of `importance="random"`'s channel choice (`replay` takes it)    |
    | `precision`, `batch_size` | the evaluation's, resolved (also `env.unwrapped.precision`, `.batch_size`) |

    The pruned model is `env.unwrapped.pruned_model` (rebuilt on first access after a cached
    episode) and `env.unwrapped.save_pruned(path)` writes it with its policy.

    ## Public API

    Besides the Gymnasium API, agents and tools may rely on these members of `env.unwrapped`
    (read-only; anything else is private and may change):

    | Member                | What it is                                                          |
    |-----------------------|---------------------------------------------------------------------|
    | `config`              | the validated options, an `EnvConfig` (frozen)                      |
    | `units`               | the prunable units in step order (`.name`, `.channels`, ...)        |
    | `unit_names`          | their names (the `policy()` order)                                  |
    | `num_units`           | how many there are                                                  |
    | `episode_length`      | steps per episode (`num_units`, 1 with `action_mode="one_shot"`)    |
    | `budget_wall`         | the action wall (`bounds(ratios)`, `within_budget(ratios)`, `max_ratio`) |
    | `cost_model`          | exact cost of a ratio vector (`cost(ratios)`, `base`)               |
    | `policy()`            | the ratios decided so far in this episode                           |
    | `latency_model`       | the measured latency model of `target="latency"` (`predict(kept)`, `unit_ms(kept)`, `base_ms`); `None` otherwise |
    | `latency_report()`    | time a policy (default: this episode's) against the unpruned model: measured and predicted latency, speed-up, FLOPs, params |
    | `precision`           | the reward evaluation's precision (`"auto"` resolved)               |
    | `batch_size`          | the reward evaluation's batch size (measured once, cached)          |
    | `last_timings`        | seconds of the last episode's prune, re-calibration and evaluation  |
    | `pruned_model`        | the last finished episode's pruned model (`None` before one)        |
    | `last_info`           | the last finished episode's final `info`                            |
    | `save_pruned(path)`   | write that model and its policy (`agmc_env.pruning.load_pruned`)    |
    | `kept_sizes()`        | what each ratio of a vector keeps of its unit (the pruned shape)    |
    | `replay()`            | end an episode at given final ratios: prune, re-calibrate, score    |

    ## Arguments

    ```python
    import gymnasium as gym
    env = gym.make("agmc_env:ModelCompression-v0", model="resnet56", preserve=0.5)
    ```

    | Argument           | Default      | Accepted values                                                  |
    |--------------------|--------------|------------------------------------------------------------------|
    | `preset`           | `None`       | a key of `agmc_env.envs.PRESETS`; other arguments override it    |
    | `model`            | `"resnet20"` | a zoo name (`agmc_env.models.available_models()`) or `nn.Module` |
    | `dataset`          | the model's  | `"cifar10"`, `"imagenet"`, `"imagefolder"`, `"synthetic"`        |
    | `image_folder`     | `None`       | `<class>/<image>` folder of `dataset="imagefolder"` (implies it) |
    | `data_dir`         | `None`       | data root (default `AGMC_DATA`, checkout, cache, download)       |
    | `weights_path`     | `None`       | a local checkpoint for zoo models without shipped weights        |
    | `pretrained`       | `True`       | `False`: a zoo model with random weights (seeded), no file read  |
    |                    |              | (with `dataset="synthetic"`: a trial that needs no file at all)  |
    | `input_size`       | the model's  | `(C, H, W)`; for a user module: 3x32x32 (3x224x224 on ImageNet)  |
    | `target`           | `"flops"`    | `"flops"`, `"params"`, `"latency"`: the budgeted cost (latency:  |
    |                    |              | measured on `device`, per-unit tables cached; `agmc_env.latency`)|
    | `preserve`         | `0.5`        | fraction of the target cost to keep, in `(0, 1]`                 |
    | `pruning`          | `"channel"`  | `"channel"` (structured), `"fine_grained"` (magnitude masks,     |
    |                    |              | one unit per conv/linear layer; costs count non-zero weights)    |
    | `units`            | `"inner"`    | `"inner"` (block-internal channels), `"all"`                     |
    | `importance`       | `"l1"`       | `"l1"`, `"l2"`, `"fpgm"`, `"random"`: which channels go          |
    | `round_to`         | `None`       | channel pruning keeps a multiple of this many channels per unit  |
    |                    |              | (e.g. 8: odd widths can run slower than the unpruned model)      |
    | `embedding`        | `"gnn"`      | `"gnn"` (graph auto-encoder), `"rule"` (AMC's features)          |
    | `observation`      | `"vector"`   | `"vector"`, `"graph"`                                            |
    | `action_mode`      | `"per_layer"`| `"per_layer"`, `"one_shot"`                                      |
    | `max_ratio`        | `0.8`        | largest pruning ratio, in `(0, 1)`                               |
    | `fill_budget`      | `"none"`     | `"none"` (AMC's one-sided wall), `"give_back"` (unused budget    |
    |                    |              | returned after the last unit), `"two_sided"` (wall from above)   |
    | `reward`           | `"accuracy"` | a name of `agmc_env.envs.REWARDS` or a callable                  |
    | `val_size`         | `1000`       | images of the search split scored for the reward                 |
    | `split_seed`       | `0`          | seed of the data splits                                          |
    | `bn_recalibration` | `False`      | re-estimate batch-norm statistics after pruning                  |
    | `calibration_size` | `512`        | training images the re-calibration estimates them on (>= 2)      |
    | `calibration_precision` | `"reward"` | `"reward"`: re-calibrate at the reward's precision;         |
    |                    |              | `"fp32"`: the statistics of an fp32 run (slower, closer to fp32) |
    | `device`           | `"auto"`     | `"auto"` (CUDA when present), `"cpu"`, `"cuda[:N]"`              |
    | `precision`        | `"auto"`     | `"auto"` (bf16 where the CPU runs it natively, bf16/fp16 on      |
    |                    |              | CUDA, else fp32), `"fp32"`, `"bf16"`, `"fp16"` (autocast)        |
    | `recheck_margin`   | `None`       | bf16/fp16: re-score in fp32 the images whose two largest logits  |
    |                    |              | are closer than this (a reward closer to fp32's)                 |
    | `latency_batch`    | `1`          | images per timed forward pass of `target="latency"`, in          |
    |                    |              | `[1, 4096]`: 1 is one request's delay, more budgets throughput   |
    | `render_mode`      | `None`       | `"ansi"`, `"rgb_array"`                                          |
    | `cache_dir`        | `None`       | where embeddings and latency tables are cached (`AGMC_CACHE`)    |

    The model, data on the device and embeddings are built once per process and shared by its envs.
    The evaluation batch size is measured once per machine, model, precision and thread count and
    cached on disk (`agmc_env.tuning`); it changes the speed only, never a reward. What
    `precision="auto"` means is read from the hardware, never timed, so a seeded run gives the same
    episodes with an empty or a full cache.
    The exception is `target="latency"`: its budget is predicted from per-unit latency tables timed
    on `device` at `latency_batch` the first time (a progress bar on stderr) and cached per machine,
    model, batch, thread count and software versions (`agmc_env.latency`); the table, not the seed,
    then fixes the wall, so keep the cache file to reproduce a latency-budgeted search exactly.

    ## Version History

    * v0: Initial version. Since issue 11: the dynamic state's third entry is AMC's "rest"
      (was: cost still to remove), the GNN embedding has 8 structural dimensions (was: 30 with
      depth waves), and `fill_budget` was added. Since issue 15: the final `info` also says
      whether the budget was met and by how much (`budget_met`, `budget_slack`). Since issue 16:
      `target="latency"` and `latency_batch`, the `latency_*` info keys and the `amc_latency` reward.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    #: Pruned shapes whose accuracy an env remembers (0 scores every episode afresh).
    reward_cache_size: int = 100_000

    def __init__(self, preset: str | None = None, render_mode: str | None = None, **options: Any) -> None:
        self._config = EnvConfig.create(preset, render_mode=render_mode, **options)
        self.render_mode = self.config.render_mode
        self._attach_resources()
        self.observation_space = self._observation.space()
        width = self.num_units if self.config.action_mode == "one_shot" else 1
        self.action_space = spaces.Box(-1.0, 1.0, (width,), np.float32)
        self._ratios: list[float] | None = None
        self._torch_seed = 0
        self._stop_below: float | None = None
        self._reward_cache = RewardCache(self.reward_cache_size)
        self.pruned_model = None
        self.last_info: dict[str, Any] = {}
        self.last_timings: dict[str, float] = {}

    def _attach_resources(self) -> None:
        # Everything here is shared through the per-process caches and rebuilt, not pickled.
        self._resources: Resources = get_resources(self.config)
        bundle = self._resources.bundle
        self._method = bundle.method  # the pruning method (channel, fine-grained) chosen by name
        self._units = tuple(self._method.units)
        self._cost_model = self._method.cost_model
        self._latency = env_latency_model(self.config, self._method)  # None unless target="latency"
        self._budget_wall = BudgetWall(
            self.cost_model,
            target=self.config.target,
            preserve=self.config.preserve,
            max_ratio=self.config.max_ratio,
            two_sided=self.config.fill_budget == "two_sided",
            latency=self._latency,
        )
        self._observation = make_observation(
            self.config.observation,
            self._resources.unit_features,
            graph_arrays(bundle) if self.config.observation == "graph" else {},
            one_shot=self.config.action_mode == "one_shot",
        )

    @property
    def config(self) -> EnvConfig:
        """The validated options of this env."""
        return self._config

    @property
    def units(self) -> tuple[Unit, ...]:
        """The prunable units, in the order the steps visit them."""
        return self._units

    @property
    def unit_names(self) -> list[str]:
        """The units' names, in step order."""
        return [unit.name for unit in self._units]

    @property
    def num_units(self) -> int:
        """How many prunable units (ratios) an episode decides."""
        return len(self._units)

    @property
    def episode_length(self) -> int:
        """Steps per episode: one per unit, or one with ``action_mode="one_shot"``."""
        return 1 if self.config.action_mode == "one_shot" else self.num_units

    @property
    def budget_wall(self) -> BudgetWall:
        """The action wall that keeps every episode inside the budget."""
        return self._budget_wall

    @property
    def cost_model(self) -> UnitCostModel:
        """Exact MACs/params of any ratio vector, without a forward pass."""
        return self._cost_model

    def policy(self) -> list[float]:
        """The pruning ratios decided so far in this episode (all of them once it has ended)."""
        return list(self._ratios or [])

    @property
    def latency_model(self) -> LatencyModel | None:
        """The measured per-unit latency model of ``target="latency"`` (``None`` for other targets)."""
        return self._latency

    def latency_report(self, ratios: Sequence[float] | None = None) -> dict[str, Any]:
        """Time the model pruned at ``ratios`` (default: this episode's) against the unpruned one.

        On the env's device at ``latency_batch`` (see :func:`agmc_env.latency.latency_report`);
        with ``target="latency"`` the prediction is given too. Takes a few hundred forward passes.
        """
        ratios = self.policy() if ratios is None else [float(r) for r in ratios]
        return measured_report(self.config, self._method, self._latency, ratios)

    def _kept_fraction(self) -> float:
        """Kept fraction of the target cost with the ratios decided so far (the rest unpruned)."""
        assert self._ratios is not None
        decided = self._ratios + [0.0] * (len(self.units) - len(self._ratios))
        return self.budget_wall.cost_of(decided) / self.budget_wall.base

    def _state(self) -> EpisodeState:
        assert self._ratios is not None
        return EpisodeState(
            position=len(self._ratios),
            num_units=len(self.units),
            removed=1.0 - self._kept_fraction(),
            rest=self.budget_wall.rest_fraction(self._ratios),
            previous_ratio=self._ratios[-1] if self._ratios else 0.0,
        )

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:
            # A seeded reset starts afresh, flags included: the same seed and actions give the same info.
            self._reward_cache.clear()
        # The only randomness (importance="random") is seeded from the env's generator.
        self._torch_seed = int(self.np_random.integers(2**31 - 1))
        self._ratios = []
        self._stop_below = _stop_below(options)
        self.pruned_model = None
        self.last_info = {}
        return self._observation.observe(self._state()), {}

    def _check_action(self, action: Any) -> np.ndarray:
        space = self.action_space
        try:
            values = np.asarray(action)
        except Exception as error:  # a ragged list, an object numpy cannot take in
            raise ConfigTypeError(f"action must be numbers for the action space {space}, got {action!r}") from error
        # Only real numbers: numpy would turn "0.5" into 0.5 and True into 1.0 without a word.
        if values.dtype.kind not in "iuf":
            raise ConfigTypeError(
                f"action must be a number or an array of numbers for the action space {space}, "
                f"got {_describe(action)}"
            )
        width = space.shape[0]
        if values.shape != (width,) and not (width == 1 and values.shape in ((), (1, 1))):
            raise ConfigError(f"action must have shape {space.shape} for the action space {space}, got shape {values.shape}")
        values = values.astype(np.float64).reshape(width)
        if not np.isfinite(values).all():
            raise ConfigError(f"action must be finite for the action space {space}, got {values.tolist()}")
        return np.clip(values, -1.0, 1.0)

    def _decide(self, value: float) -> float:
        assert self._ratios is not None
        ratio = (value + 1.0) / 2.0 * self.config.max_ratio
        low, high = self.budget_wall.bounds(self._ratios)
        ratio = float(min(max(ratio, low), high))
        self._ratios.append(ratio)
        return ratio

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._ratios is None:
            raise RuntimeError("call reset() before step()")
        if len(self._ratios) == len(self.units):
            raise RuntimeError("the episode is over; call reset() before step()")
        for value in self._check_action(action):
            ratio = self._decide(float(value))
        terminated = len(self._ratios) == len(self.units)
        if not terminated:
            return self._observation.observe(self._state()), 0.0, False, False, {"ratio": ratio}
        chosen, kept_before = list(self._ratios), self._kept_fraction()
        if self.config.fill_budget == "give_back":
            self._ratios = self.budget_wall.fill(self._ratios)
        reward, info = self._finish()
        filled = {"policy_ratios": chosen, "budget_filled": self._kept_fraction() - kept_before}
        info.update(filled)
        self.last_info.update(filled)
        return self._observation.observe(self._state()), reward, terminated, False, info

    @property
    def precision(self) -> str:
        """The evaluation's precision (``"auto"`` resolved for this machine)."""
        return self._resources.evaluator.precision

    @property
    def batch_size(self) -> int:
        """The evaluation's batch size (measured for this machine unless fixed)."""
        return self._resources.evaluator.batch_size

    @property
    def pruned_model(self) -> torch.nn.Module | None:
        """The last episode's pruned model (``None`` before an episode ends)."""
        if self._pruned_model is None and self._prune_pending:
            # A cached episode skipped the pruning; build its model only when someone asks.
            self._pruned_model = self._prune()
        return self._pruned_model

    @pruned_model.setter
    def pruned_model(self, model: torch.nn.Module | None) -> None:
        self._pruned_model, self._prune_pending = model, False

    def _prune(self, timings: dict[str, float] | None = None) -> torch.nn.Module:
        timings = {} if timings is None else timings
        start = time.perf_counter()
        model = self._method.prune(self._ratios, importance=self.config.importance, seed=self._torch_seed)
        timings["prune_seconds"] = time.perf_counter() - start
        if self._resources.calibration_images is not None:
            evaluator = self._resources.evaluator
            evaluator.prepare(model)  # device and memory format of the calibration images
            # By default at the reward's precision: bf16 halves this step where it is native, but its
            # statistics differ from fp32's by a little (benchmarks/search_speed.py); "fp32" buys them.
            precision = "fp32" if self.config.calibration_precision == "fp32" else None  # None: the reward's
            with evaluator.autocast(precision):
                recalibrate_batchnorm(model, self._resources.calibration_images)
        timings["calibration_seconds"] = time.perf_counter() - start - timings["prune_seconds"]
        return model

    def _get_rew(self, result: CompressionResult) -> tuple[float, dict[str, float]]:
        return compute_reward(self.config.reward, result)

    def _cache_key(self) -> tuple:
        assert self._ratios is not None
        kept = self._method.kept_sizes(self._ratios)
        # Random importance picks other channels for each seed: the same shape is another model.
        return RewardCache.key(kept, self._torch_seed if self.config.importance == "random" else None)

    def _finish(self) -> tuple[float, dict[str, Any]]:
        key = self._cache_key()
        accuracy = self._reward_cache.get(key)
        cached, stopped = accuracy is not None, False
        timings = {"prune_seconds": 0.0, "calibration_seconds": 0.0, "eval_seconds": 0.0}
        if not cached:
            model = self._prune(timings)
            start = time.perf_counter()
            accuracy, stopped = self._resources.evaluator.screen(model, self._stop_below)
            timings["eval_seconds"] = time.perf_counter() - start
            if not stopped:  # an early stop's accuracy is an estimate: never serve it as exact
                self._reward_cache.put(key, accuracy)
            self.pruned_model = model
        else:
            self.pruned_model = None
            self._prune_pending = True
        self.last_timings = timings
        kept, base = self.cost_model.cost(self._ratios), self.cost_model.base
        latency = {}
        if self._latency is not None:
            latency = latency_info(self._latency, self._method.kept_sizes(self._ratios), self.config.latency_batch)
        result = CompressionResult(
            accuracy, kept.macs, kept.params, base.macs, base.params, self.config.target,
            latency.get("latency_predicted_ms"), latency.get("base_latency_ms"),
        )  # fmt: skip
        reward, reward_info = self._get_rew(result)
        self.last_info = {
            "ratios": list(self._ratios),
            "kept_macs": kept.macs,
            "kept_flops": kept.flops,
            "kept_flops_fraction": result.kept_flops_fraction,
            "kept_params": kept.params,
            "kept_params_fraction": result.kept_params_fraction,
            **latency,
            "budget_met": self.budget_wall.within_budget(self._ratios),
            "budget_slack": self.budget_wall.slack(self._ratios),
            "accuracy": accuracy,
            "reward": reward,
            **reward_info,
            "reward_cached": cached,
            "early_stopped": stopped,
            "importance_seed": self._torch_seed,
            "precision": self.precision,
            "batch_size": self.batch_size,
        }
        return reward, dict(self.last_info)

    def kept_sizes(self, ratios: Sequence[float]) -> list[int]:
        """What each ratio keeps of its unit: channels, or weights with ``pruning="fine_grained"``.

        Two ratio vectors with the same kept sizes give the same pruned model (the reward cache's key).
        """
        return self._method.kept_sizes(ratios)

    def replay(self, ratios: Sequence[float], importance_seed: int | None = None) -> dict[str, Any]:
        """End an episode at ``ratios`` without stepping, exactly as its last step would end it.

        The model is pruned at ``ratios`` (taken as final: no wall, no budget filling), re-calibrated
        and scored on the reward images like any episode, so that afterwards ``pruned_model``,
        ``last_info`` and ``save_pruned`` describe it. This rebuilds a logged episode's model, e.g.
        to re-score a search's best policies on more images.

        Args:
            ratios: one ratio per unit, an episode's final ``info["ratios"]``.
            importance_seed: that episode's ``info["importance_seed"]``; only ``importance="random"``
                depends on it. (default: the seed of the current episode)

        Returns:
            The final ``info`` of the episode (without ``policy_ratios`` and ``budget_filled``).

        Raises:
            ConfigError: not one ratio in ``[0, 1]`` per unit, or ratios outside the budget.
        """
        values = [float(r) for r in ratios]
        if len(values) != self.num_units or not all(0.0 <= r <= 1.0 for r in values):
            raise ConfigError(f"ratios must be {self.num_units} numbers in [0, 1] (one per unit), got {list(ratios)!r}")
        if not self.budget_wall.within_budget(values):
            raise ConfigError(f"ratios {values} exceed the budget (preserve={self.config.preserve} of {self.config.target})")
        self._ratios = values
        if importance_seed is not None:
            self._torch_seed = int(importance_seed)
        self._stop_below = None  # a replay is always scored in full
        return self._finish()[1]

    def save_pruned(self, path: str | os.PathLike) -> None:
        """Write the last episode's pruned model and its policy (ratios, cost, accuracy, options)."""
        if self.pruned_model is None:
            raise RuntimeError("no pruned model yet: finish an episode (step until terminated) first")
        if not isinstance(self.config.model, str):
            raise ConfigError(
                "save_pruned rebuilds models from the zoo and cannot describe a user nn.Module; "
                "save env.unwrapped.pruned_model yourself (e.g. torch.save(model.state_dict(), ...))"
            )
        spec = self._method.pruning_spec(
            self.config.model,
            self._ratios,
            num_classes=self._resources.bundle.num_classes,
            env=self.config.to_dict(),
            policy_units=[u.name for u in self.units],
            **self.last_info,
        )
        save_pruned_model(path, self.pruned_model, spec)

    def _policy_view(self) -> PolicyView:
        ratios = list(self._ratios or [])
        kept = self._kept_fraction() if self._ratios is not None else 1.0
        return PolicyView(
            names=[u.name for u in self.units],
            channels=[u.channels for u in self.units],
            unit_macs=self.cost_model.unit_macs(),
            ratios=ratios,
            kept_channels=self._method.kept_sizes(ratios),
            kept_fraction=kept,
            target=self.config.target,
            preserve=self.config.preserve,
        )

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            logger.warn(
                "You are calling render method without specifying any render mode. "
                'Pass render_mode="ansi" or "rgb_array" to gymnasium.make("agmc_env:ModelCompression-v0", ...)'
            )
            return None
        view = self._policy_view()
        return render_ansi(view) if self.render_mode == "ansi" else render_rgb(view)

    def close(self) -> None:
        self.pruned_model = None

    def __getstate__(self) -> dict[str, Any]:
        shared = (
            "_resources", "_method", "_units", "_cost_model", "_latency", "_budget_wall", "_observation", "_pruned_model",
        )  # fmt: skip
        return {key: value for key, value in self.__dict__.items() if key not in shared}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.pruned_model = None
        self._attach_resources()
