"""agmc-env: automated model compression as a Gymnasium reinforcement-learning problem."""

from __future__ import annotations

__version__ = "0.1.0"

from agmc_env.envs import register_envs

register_envs()

__all__ = ["__version__", "register_envs"]
