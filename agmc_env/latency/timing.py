"""Wall-clock timing of forward passes: the one measurement method every latency figure here uses.

Method: the model (or segment) in ``eval()`` mode under ``torch.inference_mode()``, fp32, the default
(NCHW) memory format, on a fixed random input of ``batch`` images; ``warmup`` untimed calls (oneDNN
kernel choice, allocator, CUDA context), then ``repeats`` timed samples; the **median** sample is the
figure. A sample runs the callable ``number`` times in a row (chosen so a sample lasts about
:data:`MIN_SAMPLE_SECONDS`), so sub-millisecond layers are not lost in the clock's resolution.
On CUDA every sample is bracketed by ``torch.cuda.synchronize``. The thread count is torch's
(``torch.get_num_threads()``) and is part of every cache key.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from agmc_env.checks import Integer
from agmc_env.errors import ConfigError
from agmc_env.evaluate import resolve_device

# A sample of at least this long keeps the clock's resolution and the call overhead negligible.
MIN_SAMPLE_SECONDS = 0.002
MAX_LATENCY_BATCH = 4096  # larger is a typo: ResNet-56 at batch 4096 alone needs gigabytes


@dataclass(frozen=True)
class TimingSettings:
    """How a latency is measured (see the module docstring).

    Args:
        warmup: untimed calls first. (default: ``5``)
        repeats: timed samples; the median is kept. (default: ``21``)
    """

    warmup: int = 5
    repeats: int = 21

    def __post_init__(self) -> None:
        Integer(0)("warmup", self.warmup)
        Integer(1)("repeats", self.repeats)


def check_latency_batch(batch: object, option: str = "latency_batch") -> int:
    """``batch`` as an int in ``[1, MAX_LATENCY_BATCH]``, else a ``ConfigError`` naming ``option``."""
    return Integer(1, MAX_LATENCY_BATCH)(option, batch)


def check_device(device: str | torch.device, option: str = "device") -> torch.device:
    """The device latencies are measured on (``"auto"`` resolved); a ``ConfigError`` naming ``option``."""
    try:
        return resolve_device(device)
    except ConfigError as error:  # its message names "device" already
        raise ConfigError(error.problem, option=option, problem=error.problem.removeprefix("device ")) from None
    except RuntimeError as error:  # torch's own refusal of a malformed device string
        raise ConfigError.for_option(option, f"is not a device torch knows: {error}") from None


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(
    calls: Sequence[Callable[[], object]], device: torch.device, settings: TimingSettings = TimingSettings()
) -> list[float]:
    """Median seconds of one call of each of ``calls``, timed round-robin.

    Round-robin (all calls once per round) spreads a load change of a shared machine over every
    call alike, so the differences between them, which a latency table is made of, stay honest.
    """
    if not calls:
        return []
    with torch.inference_mode():
        for _ in range(max(1, settings.warmup)):
            for call in calls:
                call()
        _synchronize(device)
        numbers = []
        for call in calls:  # calls per sample, from one timed call each
            start = time.perf_counter()
            call()
            _synchronize(device)
            once = max(time.perf_counter() - start, 1e-7)
            numbers.append(max(1, min(1000, math.ceil(MIN_SAMPLE_SECONDS / once))))
        samples: list[list[float]] = [[] for _ in calls]
        for _ in range(settings.repeats):
            for index, (call, number) in enumerate(zip(calls, numbers)):
                start = time.perf_counter()
                for _ in range(number):
                    call()
                _synchronize(device)
                samples[index].append((time.perf_counter() - start) / number)
    return [statistics.median(s) for s in samples]


def random_input(shape: Sequence[int], device: torch.device, seed: int = 0) -> torch.Tensor:
    """A fixed normal-random fp32 input (the same for every measurement of a shape)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=generator).to(device)


def measure_latency(
    model: nn.Module,
    input_size: Sequence[int],
    batch: int = 1,
    device: str | torch.device = "cpu",
    settings: TimingSettings = TimingSettings(),
) -> float:
    """Median milliseconds of one forward pass of ``model`` on ``batch`` inputs of ``input_size``.

    The model is moved to ``device`` and put in ``eval()`` mode (pass a copy to keep yours as it is).

    Raises:
        ConfigError: an unknown ``device`` or a ``batch`` outside ``[1, 4096]``, naming the argument.
    """
    batch = check_latency_batch(batch, "batch")
    where = check_device(device)
    model = model.to(where).eval()
    images = random_input((batch, *input_size), where)
    return 1000.0 * time_calls([lambda: model(images)], where, settings)[0]
