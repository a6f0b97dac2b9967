"""AMC's reward sharing as an SB3 replay buffer: every step of an episode gets its end reward.

The compression env pays its whole reward at the last step. AMC (He et al., ECCV 2018) stores each
transition of an episode with that final reward and, when training, subtracts a moving average of
the sampled rewards (a baseline) to reduce variance. :class:`SharedRewardReplayBuffer` does both:

* ``add`` holds an episode's transitions until it ends, then writes them all with the episode's
  return (the sum of its rewards, i.e. the end reward);
* ``sample`` subtracts the baseline, an exponential moving average of batch-mean rewards updated
  at every sample (AMC's ``moving_alpha``). Subtracting it at sampling time shifts every target of a
  batch equally, which leaves the actor's gradient unchanged and only keeps the critic centred; a
  baseline baked in at writing time would instead rank old and new transitions against different
  references.

Use it through ``replay_buffer_class`` (and ``replay_buffer_kwargs``) of any SB3 off-policy
algorithm. Parallel envs are supported when their episodes end together (as the compression env's
do: every episode has one step per prunable unit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize


class SharedRewardReplayBuffer(ReplayBuffer):
    """A replay buffer that shares each episode's return with all its steps, minus a baseline.

    Args:
        buffer_size, observation_space, action_space, device, n_envs, optimize_memory_usage,
            handle_timeout_termination: as :class:`~stable_baselines3.common.buffers.ReplayBuffer`.
        baseline_alpha: weight of the newest batch mean in the moving-average baseline (AMC: 0.5);
            ``0`` disables the baseline. (default: ``0.5``)

    Raises:
        ValueError: ``baseline_alpha`` outside ``[0, 1]``; at ``add``, parallel episodes that do not
            end on the same step.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: Any = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        baseline_alpha: float = 0.5,
    ) -> None:
        if not 0.0 <= baseline_alpha <= 1.0:
            raise ValueError(f"baseline_alpha must be in [0, 1], got {baseline_alpha!r}")
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        self.baseline_alpha = float(baseline_alpha)
        self.baseline: float | None = None
        self.pending: list[tuple[Any, ...]] = []

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Hold the transition; at the episode's end write the whole episode with its return."""
        self.pending.append(tuple(np.array(x, copy=True) for x in (obs, next_obs, action, reward, done)) + (infos,))
        ended = np.asarray(done, dtype=bool).reshape(-1)
        if not ended.any():
            return
        if not ended.all():
            raise ValueError(
                "SharedRewardReplayBuffer needs parallel episodes that end on the same step; "
                f"got done={ended.tolist()}"
            )
        episode_return = np.sum([np.asarray(step[3], dtype=np.float32) for step in self.pending], axis=0)
        for step_obs, step_next, step_action, _, step_done, step_infos in self.pending:
            super().add(step_obs, step_next, step_action, episode_return, step_done, step_infos)
        self.pending = []

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> ReplayBufferSamples:
        """A batch whose rewards are the shared returns minus the moving-average baseline."""
        batch = super().sample(batch_size, env=env)
        if self.baseline_alpha == 0.0:
            return batch
        mean = float(batch.rewards.mean())
        self.baseline = mean if self.baseline is None else self.baseline + self.baseline_alpha * (mean - self.baseline)
        return batch._replace(rewards=batch.rewards - self.baseline)

    def reset(self) -> None:
        super().reset()
        self.pending = []
