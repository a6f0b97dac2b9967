"""The Gymnasium environments of agmc-env.

``register_envs()`` runs when ``agmc_env`` is imported, so both of these work::

    import gymnasium as gym
    env = gym.make("agmc_env:ModelCompression-v0")      # imports agmc_env, which registers

    import agmc_env
    gym.register_envs(agmc_env)                         # keeps linters from flagging the import
    env = gym.make("ModelCompression-v0")

The env module itself (torch, the model zoo) is imported only when an env is made.
"""

from __future__ import annotations

from typing import Any

import gymnasium

ENV_IDS = ("ModelCompression-v0",)


def register_envs() -> None:
    """Register ``ModelCompression-v0`` with Gymnasium (idempotent)."""
    if "ModelCompression-v0" not in gymnasium.registry:
        gymnasium.register(
            id="ModelCompression-v0",
            entry_point="agmc_env.envs.model_compression:ModelCompressionEnv",
        )


_LAZY = {
    "ModelCompressionEnv": "agmc_env.envs.model_compression",
    "EnvConfig": "agmc_env.envs.config",
    "PRESETS": "agmc_env.envs.config",
    "REWARDS": "agmc_env.envs.rewards",
    "CompressionResult": "agmc_env.envs.rewards",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import agmc_env` (which registers the env) stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ENV_IDS", "register_envs", *_LAZY]
