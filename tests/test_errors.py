"""``agmc_env.errors``: each class keeps its built-in base and carries the documented exit code."""

from __future__ import annotations

import pytest

from agmc_env.errors import (
    AgmcError,
    ConfigError,
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
