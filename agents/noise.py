"""AMC's exploration noise: a truncated normal around the actor's action, decaying per episode.

AMC (He et al., ECCV 2018) explores by sampling each action from a normal distribution centred on
the actor's output and truncated to the action bounds; its width starts at ``sigma = 0.5`` (AMC's
actions span ``[0, 1]``) and shrinks by ``x0.95`` after every episode past the warm-up. A fixed
factor ties the exploration to AMC's episode count: after 100 episodes the width is 0.3 % of the
range, after 20 still 36 %. Given the episode budget (``total_episodes``), the factor is instead
chosen so that the width reaches ``final_sigma`` at the last episode, whatever the budget.

:class:`AMCNoise` is an SB3 :class:`~stable_baselines3.common.noise.ActionNoise`. SB3 adds noise
without looking at the action and then clips, which piles probability onto the bounds; the
algorithms built by :mod:`agents.sb3_agents` call :meth:`AMCNoise.perturb` instead, which samples
the truncated normal around the action as AMC does. Its state (width, episode count, generator)
round-trips through :meth:`state_dict` / :meth:`load_state_dict` for resumable searches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.noise import ActionNoise

_MAX_REJECTION_ROUNDS = 64


class AMCNoise(ActionNoise):
    """Truncated-normal exploration noise whose width decays per episode after a warm-up.

    Args:
        action_dim: size of the action vector. (default: ``1``)
        sigma: initial width as a fraction of the action range (AMC: 0.5 of ``[0, 1]``; for SB3's
            scaled ``[-1, 1]`` actions this is a standard deviation of 1.0). (default: ``0.5``)
        decay: factor applied to the width after each episode past the warm-up; ignored when
            ``total_episodes`` is given. (default: ``0.95``)
        warmup_episodes: episodes (counted by :meth:`reset`, which SB3 calls at every episode end)
            before the decay starts. (default: ``0``)
        total_episodes: the episode budget of the search, warm-up included; the decay factor is then
            the one that brings the width from ``sigma`` at the end of the warm-up to
            ``final_sigma`` at the last episode. (default: ``None``: the fixed ``decay``)
        final_sigma: the width at the last episode, with ``total_episodes``. (default: ``0.05``)
        low, high: the action bounds the truncated normal respects. (default: ``-1.0``, ``1.0``)
        seed: seed of the noise's own generator. (default: ``None``)

    Raises:
        ValueError: ``sigma`` not positive, ``decay`` outside ``(0, 1]``, ``warmup_episodes`` negative,
            ``total_episodes`` below 1, ``final_sigma`` outside ``(0, sigma]`` or ``low >= high``.
    """

    def __init__(
        self,
        action_dim: int = 1,
        sigma: float = 0.5,
        decay: float = 0.95,
        warmup_episodes: int = 0,
        low: float = -1.0,
        high: float = 1.0,
        seed: int | None = None,
        total_episodes: int | None = None,
        final_sigma: float = 0.05,
    ) -> None:
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")
        if warmup_episodes < 0:
            raise ValueError(f"warmup_episodes must be >= 0, got {warmup_episodes!r}")
        if not low < high:
            raise ValueError(f"low must be < high, got low={low!r}, high={high!r}")
        if total_episodes is not None:
            if not isinstance(total_episodes, int) or total_episodes < 1:
                raise ValueError(f"total_episodes must be None or an integer >= 1, got {total_episodes!r}")
            if not 0 < final_sigma <= sigma:
                raise ValueError(f"final_sigma must be in (0, sigma={sigma!r}], got {final_sigma!r}")
            # The width is decayed once per episode past the warm-up; the last episode (number
            # total_episodes - 1, counted from 0) gets final_sigma.
            decays = max(1, total_episodes - 1 - warmup_episodes)
            decay = (final_sigma / sigma) ** (1.0 / decays)
        super().__init__()
        self.action_dim = int(action_dim)
        self.initial_sigma = float(sigma)
        self.decay = float(decay)
        self.warmup_episodes = int(warmup_episodes)
        self.total_episodes = total_episodes
        self.final_sigma = float(final_sigma)
        self.low, self.high = float(low), float(high)
        self.episodes = 0
        self._drawn = False  # a draw since the last reset: SB3 also resets at the start of every learn()
        self._rng = np.random.default_rng(seed)

    @property
    def sigma(self) -> float:
        """The current width, as a fraction of the action range (never below ``final_sigma`` with
        ``total_episodes``, should the search run longer than planned)."""
        width = self.initial_sigma * self.decay ** max(0, self.episodes - self.warmup_episodes)
        return max(width, self.final_sigma) if self.total_episodes is not None else width

    @property
    def scale(self) -> float:
        """The current standard deviation in action units."""
        return self.sigma * (self.high - self.low)

    def reset(self) -> None:
        """End of an episode (SB3 calls this): count it, which decays the width past the warm-up.

        A reset with no draw since the previous one is not an episode end (SB3 also resets at the
        start of every ``learn``) and is not counted. The algorithms of :mod:`agents.sb3_agents`
        set :attr:`episodes` from SB3's own episode counter anyway.
        """
        if self._drawn:
            self.episodes += 1
        self._drawn = False

    def __call__(self) -> np.ndarray:
        """Noise to add to an action (SB3's default path): zero-mean, truncated at one action range."""
        width = self.high - self.low
        return self._truncated(np.zeros(self.action_dim), -width, width).astype(np.float32)

    def perturb(self, action: np.ndarray) -> np.ndarray:
        """AMC's exploration: sample around ``action`` from a normal truncated to ``[low, high]``."""
        center = np.clip(np.asarray(action, dtype=np.float64), self.low, self.high)
        return self._truncated(center, self.low, self.high).astype(np.float32)

    def _truncated(self, center: np.ndarray, low: float, high: float) -> np.ndarray:
        self._drawn = True
        # Rejection sampling: each round redraws only the values that fell outside the bounds.
        sample = self._rng.normal(center, self.scale)
        for _ in range(_MAX_REJECTION_ROUNDS):
            outside = (sample < low) | (sample > high)
            if not outside.any():
                return sample
            sample[outside] = self._rng.normal(center[outside], self.scale)
        return np.clip(sample, low, high)  # only reachable when the width dwarfs the bounds

    def state_dict(self) -> dict[str, Any]:
        """The mutable state (JSON-safe): episode count and the generator's state."""
        return {"episodes": self.episodes, "drawn": self._drawn, "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.episodes = int(state["episodes"])
        self._drawn = bool(state.get("drawn", False))
        self._rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return (
            f"AMCNoise(sigma={self.sigma:.4g}, initial_sigma={self.initial_sigma}, decay={self.decay}, "
            f"warmup_episodes={self.warmup_episodes}, total_episodes={self.total_episodes}, episodes={self.episodes})"
        )
