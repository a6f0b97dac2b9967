"""``agmc_env.errors``: each class keeps its built-in base and carries the documented exit code."""

from __future__ import annotations

import pytest

from agmc_env.errors import (
    AgmcError,
    ConfigError,
    ConfigTypeError,
    CorruptFileError,
    InternalError,
    MissingFileError,
    UnsupportedModelError,
    exit_code,
)


@pytest.mark.parametrize(
    "error, builtin, code",
    [
        (ConfigError("preserve must be ..."), ValueError, 2),
        (ConfigTypeError("action must be a number ..."), TypeError, 2),
        (MissingFileError("x not found", path="x"), FileNotFoundError, 1),
        (CorruptFileError("x is truncated", path="x"), ValueError, 1),
        (UnsupportedModelError("layer conv1 ..."), ValueError, 1),
        (InternalError("bug"), RuntimeError, 1),
    ],
)
def test_classes_keep_builtin_bases_and_exit_codes(error: AgmcError, builtin: type, code: int) -> None:
    assert isinstance(error, AgmcError) and isinstance(error, builtin)
    assert exit_code(error) == code


def test_file_errors_name_their_file() -> None:
    assert MissingFileError("gone", path="data/test.npz").path == "data/test.npz"
    assert exit_code(KeyError("anything else")) == 1


def test_env_config_raises_config_error() -> None:
    from agmc_env.envs import EnvConfig

    with pytest.raises(ConfigError, match="preserve"):
        EnvConfig(preserve=0.0)


def test_errors_that_used_to_escape_the_hierarchy(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym

    from agents.cem import CEMAgent
    from agmc_env.graph import GraphTraceError
    from agmc_env.paths import cache_dir

    assert issubclass(GraphTraceError, UnsupportedModelError)
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv("AGMC_CACHE", str(tmp_path / "a_file"))
    with pytest.raises(ConfigError, match=r"cache_dir .*a_file \(from AGMC_CACHE\) cannot be used as a cache directory"):
        cache_dir()
    with pytest.raises(ConfigError, match="population must be an integer >= 2, got 1"):
        CEMAgent(gym.spaces.Box(-1, 1, (1,)), population=1)
