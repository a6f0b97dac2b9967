"""End-of-episode rewards: pure functions of the pruned model's accuracy and cost, chosen by name.

Each registered function takes a :class:`CompressionResult` and returns its reward as named terms
whose sum is the reward (as Gymnasium's MuJoCo envs report ``reward_forward``, ``reward_ctrl``...);
the env adds them to ``info`` as ``reward_<term>``. A user callable may be passed instead of a name:
``reward(result) -> float``, reported as the single term ``reward_custom``.

=============  ==========================================  =========================================
name           reward                                      note
=============  ==========================================  =========================================
``accuracy``   ``acc / 100``                               AMC's ``acc_reward``; the default
``error``      ``-(100 - acc) / 100``                      AMC's ``R_err`` (budget by the wall)
``amc_flops``  ``-error · log(kept FLOPs)``                AMC's ``R_FLOPs``; FLOPs absolute
``acc_flops``  same as ``amc_flops``                       the name AMC's code uses for it
``amc_params`` ``-error · log(kept params)``               AMC's ``R_Param``
``acc_cost``   ``acc / 100 + 0.5 · (1 - kept fraction)``   accuracy plus a bonus for extra pruning
                                                           of the env's target (FLOPs, params or
                                                           latency)
``amc_latency````-error · log(kept latency in µs)``         ``R_FLOPs`` with predicted latency in
                                                           place of FLOPs; needs ``target="latency"``
=============  ==========================================  =========================================

``error`` is ``(100 - acc) / 100`` throughout.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from agmc_env.errors import ConfigError


@dataclass(frozen=True)
class CompressionResult:
    """What a reward may look at: the pruned model's accuracy and its cost against the original.

    Attributes:
        accuracy: top-1 accuracy on the search split, in percent.
        kept_macs, kept_params: MACs (conv + linear) and parameters of the pruned model.
        base_macs, base_params: the same for the unpruned model.
        target: ``"flops"``, ``"params"`` or ``"latency"``, the budgeted cost.
        kept_latency_ms, base_latency_ms: the pruned model's predicted and the unpruned model's
            measured latency (``None`` unless ``target="latency"``).
    """

    accuracy: float
    kept_macs: int
    kept_params: int
    base_macs: int
    base_params: int
    target: str = "flops"
    kept_latency_ms: float | None = None
    base_latency_ms: float | None = None

    @property
    def error(self) -> float:
        return (100.0 - self.accuracy) / 100.0

    @property
    def kept_flops(self) -> int:
        return 2 * self.kept_macs

    @property
    def kept_flops_fraction(self) -> float:
        return self.kept_macs / self.base_macs

    @property
    def kept_params_fraction(self) -> float:
        return self.kept_params / self.base_params

    @property
    def kept_latency_fraction(self) -> float | None:
        if self.kept_latency_ms is None or not self.base_latency_ms:
            return None
        return self.kept_latency_ms / self.base_latency_ms

    @property
    def kept_target_fraction(self) -> float:
        if self.target == "latency":
            fraction = self.kept_latency_fraction
            if fraction is None:
                raise ConfigError.for_option("target", "'latency' needs the latencies in the CompressionResult")
            return fraction
        return self.kept_flops_fraction if self.target == "flops" else self.kept_params_fraction


RewardTerms = dict[str, float]


def accuracy_reward(result: CompressionResult) -> RewardTerms:
    return {"accuracy": result.accuracy / 100.0}


def error_reward(result: CompressionResult) -> RewardTerms:
    return {"error": -result.error}


def amc_flops_reward(result: CompressionResult) -> RewardTerms:
    return {"error_log_flops": -result.error * math.log(max(result.kept_flops, 1))}


def amc_params_reward(result: CompressionResult) -> RewardTerms:
    return {"error_log_params": -result.error * math.log(max(result.kept_params, 1))}


def amc_latency_reward(result: CompressionResult) -> RewardTerms:
    if result.kept_latency_ms is None:
        raise ConfigError.for_option("reward", "'amc_latency' needs target='latency' (a measured latency model)")
    # Microseconds keep the logarithm positive, as AMC's absolute FLOPs do.
    return {"error_log_latency": -result.error * math.log(max(1000.0 * result.kept_latency_ms, 1.0))}


def acc_cost_reward(result: CompressionResult, weight: float = 0.5) -> RewardTerms:
    return {"accuracy": result.accuracy / 100.0, "cost": weight * (1.0 - result.kept_target_fraction)}


REWARDS: dict[str, Callable[[CompressionResult], RewardTerms]] = {
    "accuracy": accuracy_reward,
    "error": error_reward,
    "amc_flops": amc_flops_reward,
    "acc_flops": amc_flops_reward,
    "amc_params": amc_params_reward,
    "acc_cost": acc_cost_reward,
    "amc_latency": amc_latency_reward,
}
LATENCY_REWARDS = ("amc_latency",)  # the rewards that need target="latency"


def compute_reward(
    reward: str | Callable[[CompressionResult], float], result: CompressionResult
) -> tuple[float, dict[str, float]]:
    """The reward of ``result`` and its ``reward_*`` terms for ``info``.

    Args:
        reward: a name from :data:`REWARDS`, or ``callable(result) -> float``.
        result: the pruned model's accuracy and cost.

    Raises:
        ConfigError: (a ``ValueError``) an unknown name, or a callable returning something other
            than a finite number.
    """
    if callable(reward):
        value = reward(result)
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError.for_option("reward", f"callable must return a finite number, got {value!r}")
        terms = {"custom": float(value)}
    elif reward in REWARDS:
        terms = REWARDS[reward](result)
    else:
        raise ConfigError.for_option("reward", f"must be a callable or one of {tuple(REWARDS)}, got {reward!r}")
    info = {f"reward_{name}": float(value) for name, value in terms.items()}
    return float(sum(terms.values())), info
