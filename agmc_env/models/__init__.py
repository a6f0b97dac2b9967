"""The model zoo: CIFAR ResNets with the shipped pretrained weights (downloaded once when missing),
CIFAR MobileNet-V2/VGG-16, every torchvision classifier as ``tv_<name>`` (weights from a local file
only, or none: ``pretrained=False``) and any user ``nn.Module``.

Example:
    >>> from agmc_env.models import get_model
    >>> model = get_model("resnet56")  # <data>/pretrained/resnet56-4bfd9763.th, downloaded if missing
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torchvision
from torch import nn

from agmc_env.data.fetch import locate
from agmc_env.data.sources import SOURCES
from agmc_env.errors import ConfigError
from agmc_env.models.cifar_resnet import CIFAR_RESNET_DEPTHS, CifarResNet
from agmc_env.models.cifar_small import CifarVGG16, cifar_mobilenet_v2
from agmc_env.models.weights import WeightsMismatchError, load_weights, read_state_dict
from agmc_env.paths import DataNotFoundError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
# The model every entry point starts from when none is named (the env, `agmc search`, `agmc
# evaluate`, `agmc graph`): the smallest ResNet with shipped weights, so a first run takes minutes.
DEFAULT_MODEL = "resnet20"


@dataclass(frozen=True)
class ModelSpec:
    """What the zoo knows about a named model.

    Attributes:
        builder: ``builder(num_classes) -> nn.Module``.
        dataset: the data set it is meant for (``"cifar10"`` or ``"imagenet"``).
        input_size: ``(C, H, W)`` of one input.
        mean, std: the input normalisation its weights were trained with.
        pretrained_file: the shipped weights under ``<data>/pretrained/``, if any.
    """

    builder: Callable[[int], nn.Module]
    dataset: str
    input_size: tuple[int, int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pretrained_file: str | None = None


# The shipped weights' files (``pretrained/resnet20-12fca82f.th``, ...) come from the sources table,
# the one place that names them with their checksums.
_RESNET_FILES = {
    depth: SOURCES[f"resnet{depth}"].files[0].path for depth in CIFAR_RESNET_DEPTHS if f"resnet{depth}" in SOURCES
}

MODEL_SPECS: dict[str, ModelSpec] = {
    # The shipped ResNets were trained with the ImageNet normalisation (akamaster's trainer.py).
    **{
        f"resnet{depth}": ModelSpec(
            partial(CifarResNet, depth),
            "cifar10",
            (3, 32, 32),
            IMAGENET_MEAN,
            IMAGENET_STD,
            _RESNET_FILES.get(depth),
        )
        for depth in CIFAR_RESNET_DEPTHS
    },
    "mobilenet_v2_cifar": ModelSpec(cifar_mobilenet_v2, "cifar10", (3, 32, 32), CIFAR10_MEAN, CIFAR10_STD),
    "vgg16_cifar": ModelSpec(CifarVGG16, "cifar10", (3, 32, 32), CIFAR10_MEAN, CIFAR10_STD),
    **{
        f"tv_{name}": ModelSpec(
            partial(lambda n, num_classes: torchvision.models.get_model(n, weights=None, num_classes=num_classes), name),
            "imagenet",
            (3, 224, 224),
            IMAGENET_MEAN,
            IMAGENET_STD,
        )
        # Every classifier torchvision has (80 in 0.2x), at its ImageNet input size, which all accept.
        for name in torchvision.models.list_models(module=torchvision.models)
    },
}


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`."""
    return sorted(MODEL_SPECS)


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a named model; an unknown name lists the known ones."""
    if name not in MODEL_SPECS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(available_models())}")
    return MODEL_SPECS[name]


def get_model(
    name: str | nn.Module,
    pretrained: bool = True,
    num_classes: int | None = None,
    weights_path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    init_seed: int | None = None,
) -> nn.Module:
    """Build a model of the zoo, or pass a user ``nn.Module`` through unchanged.

    Args:
        name: a name from :func:`available_models`, or an ``nn.Module`` (returned as is).
        pretrained: load weights: ``weights_path`` if given, else the shipped file (ResNet-20/32/44/56).
            A model without shipped weights and no ``weights_path`` raises rather than silently
            staying random. (default: ``True``)
        num_classes: classifier outputs. (default: 10 for CIFAR models, 1000 for ImageNet ones)
        weights_path: a local checkpoint (state_dict, ``weights_only``-loadable).
        data_dir: the data root holding ``pretrained/`` (default: ``AGMC_DATA``, ``../shared/data`` in a
            source checkout, the user cache, then a download into it: see :mod:`agmc_env.data.fetch`).
        init_seed: seed of the random initialisation, so that a model built with ``pretrained=False``
            is the same in every process; ``None`` draws from torch's global generator. (default: ``None``)

    Returns:
        The model in ``eval()`` mode.
    """
    if isinstance(name, nn.Module):
        return name.eval()
    spec = get_spec(name)
    if num_classes is None:
        num_classes = 10 if spec.dataset == "cifar10" else 1000
    if init_seed is None:
        model = spec.builder(num_classes)
    else:
        with torch.random.fork_rng(devices=[]):  # leave the caller's random stream alone
            torch.manual_seed(init_seed)
            model = spec.builder(num_classes)
    if weights_path is not None:
        load_weights(model, weights_path)
    elif pretrained:
        if spec.pretrained_file is None:
            raise DataNotFoundError(
                f"model {name!r} has no shipped pretrained weights; pass weights_path=<local state_dict file> "
                "(agmc: --weights FILE) or, for a randomly initialised model, pretrained=False "
                "(agmc search: --no-pretrained; with dataset='synthetic' / --dataset synthetic no file is read at all)"
            )
        load_weights(model, locate(spec.pretrained_file, data_dir))
    return model.eval()


__all__ = [
    "CifarResNet",
    "CifarVGG16",
    "DEFAULT_MODEL",
    "MODEL_SPECS",
    "ModelSpec",
    "WeightsMismatchError",
    "available_models",
    "cifar_mobilenet_v2",
    "get_model",
    "get_spec",
    "load_weights",
    "read_state_dict",
]
