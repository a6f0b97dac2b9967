"""``ModelCompression-v0`` for Ray (RLlib, Tune): an env creator Ray's env registry can hold.

RLlib builds its envs in its own worker processes, from a name and a plain ``env_config`` dict.
:func:`register_ray_env` registers :func:`make_env` under ``"ModelCompression-v0"`` (the name travels
to every worker through Ray's registry); each worker then imports ``agmc_env`` itself and builds the
model, the graph embedding and the data there, not in the driver. The env's ``device`` defaults to
the GPU Ray assigned to that worker (``"cuda"``: Ray sets ``CUDA_VISIBLE_DEVICES`` to it), and to
the CPU for a worker without one, so eight workers on a 0.125-GPU share do not all guess their own.

Example (Ray's RLlib installed; ``pip install "agmc-env[ray]" "ray[rllib]"``)::

    from ray.rllib.algorithms.ppo import PPOConfig
    from agmc_env.ray_env import register_ray_env

    register_ray_env()
    config = (
        PPOConfig()
        .environment("ModelCompression-v0", env_config={"model": "resnet20", "val_size": 500})
        .env_runners(num_env_runners=2, num_gpus_per_env_runner=0.25)
    )
    algo = config.build_algo()
    print(algo.train()["env_runners"]["episode_return_mean"])

Ray is optional and imported only by :func:`register_ray_env` and :func:`assigned_device`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

ENV_NAME = "ModelCompression-v0"
ENV_ID = "agmc_env:ModelCompression-v0"


def assigned_device() -> str:
    """``"cuda"`` in a Ray worker that was given a GPU, else ``"cpu"`` (outside Ray too)."""
    try:
        import ray
    except ImportError:
        return "cpu"
    return "cuda" if ray.is_initialized() and ray.get_gpu_ids() else "cpu"


def make_env(env_config: Mapping[str, Any] | None = None, defaults: Mapping[str, Any] | None = None) -> gym.Env:
    """Build ``ModelCompression-v0`` from a plain config dict, as Ray's env creator.

    Args:
        env_config: keyword arguments of the env (``agmc_env.envs.config.EnvConfig``); RLlib passes an
            ``EnvContext``, a dict that also carries the worker's index (not passed on).
        defaults: options ``env_config`` falls back to (those given to :func:`register_ray_env`).

    Returns:
        The env, its ``device`` the worker's GPU when Ray assigned one (:func:`assigned_device`) unless
        the config names a device.
    """
    import agmc_env  # noqa: F401 (in a fresh worker: registers the env with Gymnasium)

    options = {**(defaults or {}), **dict(env_config or {})}
    options.setdefault("device", assigned_device())
    return gym.make(ENV_ID, **options)


def register_ray_env(defaults: Mapping[str, Any] | None = None, name: str = ENV_NAME) -> str:
    """Register :func:`make_env` with Ray's env registry (``ray.tune.registry.register_env``).

    Args:
        defaults: env options every env built under ``name`` starts from (JSON-safe: names and
            numbers), e.g. ``{"model": "resnet56", "val_size": 1000}``; ``env_config`` overrides them.
            (default: ``None``)
        name: the name RLlib's ``.environment(name)`` uses. (default: ``"ModelCompression-v0"``)

    Returns:
        ``name``.

    Raises:
        ImportError: Ray is not installed (``pip install "agmc-env[ray]"``).
    """
    from ray.tune.registry import register_env

    register_env(name, functools.partial(make_env, defaults=dict(defaults or {})))
    return name
