"""Top-1 accuracy of any ``nn.Module`` on an :class:`ImageSet`, with the data held on the device.

The images are normalised once and kept as one float tensor on the device (CUDA when present), in
the memory format the model runs in, so a call costs only the forward passes: no DataLoader start-up,
no per-batch host-to-device copies. Batch norms are folded into their convolutions while scoring
(:mod:`agmc_env.batchnorm_fold`); ``precision="auto"`` and the batch size are resolved for this
machine by :mod:`agmc_env.tuning`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence

import torch
from torch import nn

from agmc_env.batchnorm_fold import ConvBnPairs, conv_bn_pairs, folded_batchnorm
from agmc_env.data.imageset import ImageSet
from agmc_env.errors import ConfigError, InternalError
from agmc_env.tuning import PRECISIONS, TuningCache, tune
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; ``"cuda"`` without a GPU raises."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.split(":")[0] not in DEVICES:
        raise ConfigError(f"device must be one of {DEVICES} (or 'cuda:N'), got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but no CUDA device is available; use 'cpu' or 'auto'")
    return torch.device(device)


def normalize_images(
    images: torch.Tensor, mean: Sequence[float], std: Sequence[float], device: torch.device
) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` → float32 on ``device``, scaled to [0, 1] and normalised."""
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    return (images.to(device).float().div_(255.0) - mean_t) / std_t


def batch_bounds(total: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each batch of ``total`` images, with no batch of one image among several.

    A one-image batch runs other CPU kernels than a larger one (oneDNN), whose logits differ in
    the last bits; a tail of one image is therefore folded into the batch before it, so that every
    image's logits, and so the accuracy, are the same whatever batch size :mod:`agmc_env.tuning`
    measured (``tests/test_evaluate.py`` checks it).
    """
    bounds = [(start, min(start + batch_size, total)) for start in range(0, total, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], total)]
    return bounds


class Evaluator:
    """Accuracy of models on one fixed image set.

    Args:
        imageset (ImageSet): the images and labels to score on.
        mean (sequence of float): per-channel normalisation mean of the model's training data.
        std (sequence of float): per-channel normalisation std.
        device (str): ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``. (default: ``"auto"``)
        precision (str): ``"fp32"``, ``"bf16"`` or ``"fp16"`` autocast, or ``"auto"`` (bf16 where the
            hardware runs it natively and faster, else fp32; see :mod:`agmc_env.tuning`). fp32 by
            default, so that reported accuracies are exact; the env's search reward uses ``"auto"``.
            (default: ``"fp32"``)
        batch_size (int, optional): images per forward pass; ``None`` measures the fastest for this
            model, device and thread count once and caches it. (default: ``None``)
        channels_last (bool): run convolutions in NHWC, faster on CPU and on tensor cores.
            (default: ``True``)
        fold_batchnorm (bool): fold eval-mode batch norms into their convolutions while scoring;
            equal within float rounding, faster. (default: ``True``)
        recheck_margin (float, optional): with ``bf16``/``fp16``, score an image again in fp32 when
            the gap between its two largest logits is below this. Low-precision rounding moves a
            logit by a few tenths at most (ResNet-56, bf16), so only such close calls can flip;
            re-checking them brings the accuracy to the fp32 one for the price of an fp32 pass over
            that share of the images. ``None``: off. (default: ``None``)

    Note:
        :meth:`accuracy` moves the model to the evaluator's device and memory format in place.
        ``precision`` and ``batch_size`` hold the resolved values after :meth:`tune` (which the
        first :meth:`accuracy` call runs when they are still open).
    """

    def __init__(
        self,
        imageset: ImageSet,
        mean: Sequence[float],
        std: Sequence[float],
        device: str | torch.device = "auto",
        precision: str = "fp32",
        batch_size: int | None = None,
        channels_last: bool = True,
        fold_batchnorm: bool = True,
        recheck_margin: float | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ConfigError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if imageset.images.shape[1] != len(mean):
            raise ConfigError(
                f"images have {imageset.images.shape[1]} channels but the normalisation has {len(mean)}"
            )
        if recheck_margin is not None and not (isinstance(recheck_margin, (int, float)) and recheck_margin >= 0):
            raise ConfigError(f"recheck_margin must be a number >= 0 or None, got {recheck_margin!r}")
        self.device = resolve_device(device)
        self.precision = precision
        self.recheck_margin = recheck_margin
        self.batch_size = batch_size
        self.fold_batchnorm = fold_batchnorm
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.images = normalize_images(imageset.images, mean, std, self.device).contiguous(
            memory_format=self.memory_format
        )
        self.labels = imageset.labels.to(self.device)
        # Pruned copies of one model share module names, hence their conv -> batch norm pairs.
        self._pairs: dict[tuple, ConvBnPairs] = {}

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def resolved(self) -> bool:
        """Whether ``precision`` and ``batch_size`` are concrete (no ``"auto"``/``None`` left)."""
        return self.precision != "auto" and self.batch_size is not None

    def prepare(self, model: nn.Module) -> nn.Module:
        """Put ``model`` in eval mode on the evaluator's device and memory format (in place)."""
        # Outside inference_mode: parameters converted inside it become inference tensors, and the
        # model could not be trained afterwards.
        return model.eval().to(self.device, memory_format=self.memory_format)

    def tune(self, model: nn.Module, model_key: str | None = None, cache: TuningCache | None = None) -> None:
        """Resolve ``precision="auto"`` and an unset batch size for ``model`` (cached on disk).

        Args:
            model: a model representative of those to be scored (e.g. the unpruned one).
            model_key: names the model in the cache. (default: its class name)
            cache: the tuning cache. (default: ``<cache dir>/tuning.json``)
        """
        if self.resolved:
            return
        self.prepare(model)
        key = f"{model_key or type(model).__name__} {'x'.join(map(str, self.images.shape[1:]))}"

        def seconds_per_image(precision: str, batch_size: int) -> float:
            batch = self.images[:batch_size]
            start = time.perf_counter()
            with torch.inference_mode(), self._scoring(model), self.autocast(precision):
                model(batch).argmax(1).sum().item()  # .item() waits for the device
            return (time.perf_counter() - start) / len(batch)

        tuning = tune(seconds_per_image, self.device, key, len(self), self.precision, self.batch_size, cache)
        self.precision, self.batch_size = tuning.precision, tuning.batch_size

    def autocast(self, precision: str | None = None) -> contextlib.AbstractContextManager:
        """The autocast context of ``precision`` (default: the evaluator's) on its device.

        The env re-calibrates batch norms inside it, so that the pruned model is calibrated and
        scored at one precision (bf16 calibration ran ~2x faster than fp32 on a Zen 4 CPU).
        """
        precision = precision or self.precision
        if precision == "auto":
            raise InternalError("autocast() before the precision was resolved: call tune() first")
        if precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _scoring(self, model: nn.Module) -> contextlib.AbstractContextManager:
        if not self.fold_batchnorm:
            return contextlib.nullcontext()
        structure = (type(model), tuple(name for name, _ in model.named_modules()))
        if structure not in self._pairs:
            self._pairs[structure] = conv_bn_pairs(model)
        return folded_batchnorm(model, self._pairs[structure])

    def accuracy(self, model: nn.Module) -> float:
        """Top-1 accuracy in percent."""
        return self.screen(model)[0]

    def screen(self, model: nn.Module, stop_below: float | None = None, sigmas: float = 3.0) -> tuple[float, bool]:
        """Top-1 accuracy, or stop after about a quarter of the images when it is clearly below a bar.

        After the batch that completes the first quarter, the accuracy so far ``p`` (on ``n``
        images) is compared with ``stop_below``: the model is stopped when ``p`` plus ``sigmas``
        binomial standard errors (``sqrt(p (1 - p) / n)``) is still below it. A stopped model's
        accuracy is that quarter's, twice as noisy as the full set's (the error scales as
        ``1/sqrt(n)``); a model that is not stopped gets exactly the accuracy :meth:`accuracy`
        gives (the same batches). With ``sigmas=3`` a model whose true accuracy equals the bar is
        stopped in about 0.1 % of the calls (normal approximation).

        Args:
            model: the model to score.
            stop_below: the accuracy in percent to beat (e.g. the best so far); ``None`` never stops.
            sigmas: the safety margin in standard errors. (default: ``3.0``)

        Returns:
            ``(accuracy in percent, whether it stopped early)``.
        """
        self.prepare(model)
        self.tune(model)
        with torch.inference_mode(), self._scoring(model):
            return self._accuracy(model, stop_below, sigmas)

    def _accuracy(self, model: nn.Module, stop_below: float | None, sigmas: float) -> tuple[float, bool]:
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        total, quarter = len(self.labels), math.ceil(len(self.labels) / 4)
        with self.autocast(self.precision):
            for start, end in batch_bounds(total, self.batch_size):
                batch = self.images[start:end]
                predictions = self._recheck(model, batch, model(batch))
                correct += (predictions == self.labels[start:end]).sum()
                if stop_below is not None and start < quarter <= end < total:
                    p = correct.item() / end
                    if 100.0 * (p + sigmas * math.sqrt(p * (1.0 - p) / end)) < stop_below:
                        return 100.0 * p, True
        # One host sync per call, not per batch (two with a bar to beat).
        return 100.0 * correct.item() / total, False

    def _recheck(self, model: nn.Module, batch: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The predictions of ``logits``, the close calls among them re-scored in fp32."""
        predictions = logits.argmax(1)
        if self.recheck_margin is None or self.precision == "fp32":
            return predictions
        top_two = logits.float().topk(2, dim=1).values
        close = (top_two[:, 0] - top_two[:, 1]) < self.recheck_margin
        if close.any():
            with torch.autocast(device_type=self.device.type, enabled=False):
                again = batch[close].contiguous(memory_format=self.memory_format)
                predictions[close] = model(again).argmax(1)
        return predictions

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(images={len(self)}, device={self.device}, "
            f"precision={self.precision}, batch_size={self.batch_size})"
        )
