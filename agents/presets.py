"""What ``agmc search`` runs when it is given nothing but ``--out``: one named preset, in one place.

The env part is the env preset :data:`agmc_env.envs.PRESETS` ``["agmc-search"]`` (ResNet-20, 1,000
reward images, batch-norm re-calibration on 256 images); the search part (agent, episodes, warm-up) is here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchPreset:
    """Defaults of a search.

    Attributes:
        env_preset: a key of ``agmc_env.envs.PRESETS``.
        agent: a name of :data:`agents.registry.AGENTS`.
        episodes: episodes in total.
        warmup_episodes: random-action episodes before the agents that take a warm-up learn.
        rescore_top: after the last episode, re-score this many of the best policies on the whole
            search split and keep the best of them (:mod:`agents.rescore`); 0: keep the best reward.
    """

    env_preset: str
    agent: str
    episodes: int
    warmup_episodes: int
    rescore_top: int


# Chosen so that `agmc search` on ResNet-20 takes minutes on a 2-core CPU and still beats the
# uniform baseline (benchmarks/RESULTS.md has the measurement): in a 150-episode trial the AGMC
# agent's rewards left the random warm-up level (~30 %) after ~25 learning episodes and settled
# at 55-60 % against 51 % for the uniform ratio. AMC itself warmed up for 100 episodes.
# Five re-scored policies: on 500 reward images, policies a fraction of a point apart were more than
# a point apart on the report split (issue 11). Five policies on 5,000 images, then the winner on the
# 15,000 report and test images, cost about what 40 episodes' rewards on 1,000 images cost, once.
SEARCH_DEFAULTS = SearchPreset(
    env_preset="agmc-search", agent="agmc", episodes=200, warmup_episodes=20, rescore_top=5
)
