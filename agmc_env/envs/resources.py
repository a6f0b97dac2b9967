"""What an env needs that is expensive to build, built once per process and shared between envs.

The model, its pruning method (units and cost model) and graph, all read from one
:class:`~agmc_env.layer_table.LayerTable` of the model; the static unit features (the trained graph
embedding or the rule-based ones); the evaluation images held on the device. Each part has its own
cache keyed by the options it depends on (JSON-safe values; a user ``nn.Module`` by identity), so
two envs that differ only in, say, the reward share everything.

Shared objects are never mutated: pruning works on deep copies and the evaluator only ever sees
pruned copies.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from agmc_env.data import image_folder_classes, load_split
from agmc_env.data.augment import training_augmentation
from agmc_env.embedding import GAEConfig, node_embeddings, rule_unit_features, unit_embeddings
from agmc_env.envs.config import EnvConfig
from agmc_env.envs.latency import clear_latency_models
from agmc_env.evaluate import Evaluator, normalize_images, resolve_device
from agmc_env.errors import ConfigError, InternalError, UnsupportedModelError
from agmc_env.graph import ModelGraph, build_graph
from agmc_env.layer_table import describe_layers
from agmc_env.models import IMAGENET_MEAN, IMAGENET_STD, WeightsMismatchError, get_model, get_spec
from agmc_env.paths import cache_dir
from agmc_env.pruning import PruningMethod, Unit, UnitCostModel, make_pruning_method
from agmc_env.tuning import CACHE_FILE, TuningCache

_IMPORT_PID = os.getpid()
_DEFAULT_INPUT_SIZE = {
    "cifar10": (3, 32, 32), "synthetic": (3, 32, 32), "imagenet": (3, 224, 224), "imagefolder": (3, 224, 224),
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """The unpruned model and everything derived from its structure alone (hashed by identity)."""

    model: nn.Module
    dataset: str
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    method: PruningMethod  # the configured pruning method, built for ``model``
    graph: ModelGraph
    unit_nodes: np.ndarray  # [U] graph node of each unit's root layer
    num_classes: int | None = None  # classifier outputs, where not the zoo's default (an image folder's classes)
    image_folder: str | None = None  # the images of dataset="imagefolder"

    @property
    def units(self) -> Sequence[Unit]:
        """The method's prunable units, in network order."""
        return self.method.units

    @property
    def cost_model(self) -> UnitCostModel:
        """The method's exact cost of a ratio vector."""
        return self.method.cost_model

# The uniform ratio of the model the evaluation batch size is measured on.
TUNING_RATIO = 0.5


@dataclass(frozen=True)
class Resources:
    """Everything an env shares with the other envs of its process."""

    bundle: ModelBundle
    unit_features: np.ndarray  # [U, d], in [-1, 1]
    evaluator: Evaluator
    calibration_images: torch.Tensor | None  # normalised, on the evaluator's device and memory format


def _model_defaults(
    model: str | nn.Module, dataset: str | None, image_folder: str | None
) -> tuple[str, tuple, tuple, tuple]:
    if dataset is None and image_folder is not None:
        dataset = "imagefolder"
    if isinstance(model, str):
        spec = get_spec(model)
        return dataset or spec.dataset, spec.input_size, spec.mean, spec.std
    dataset = dataset or "cifar10"
    return dataset, _DEFAULT_INPUT_SIZE[dataset], IMAGENET_MEAN, IMAGENET_STD


def check_input_fits_data(input_size: tuple[int, int, int], dataset: str, channels: int) -> None:
    """Refuse an ``input_size`` the data set's images cannot be fed at (``ConfigError``).

    Every data set here has ``channels``-channel images (the normalisation's length); CIFAR-10
    images are 32x32; synthetic and ImageNet images are made square at the input's width.
    """
    c, h, w = input_size
    if c != channels:
        raise ConfigError.for_option(
            "input_size", f"has {c} channels but the {dataset} images have {channels}, got {tuple(input_size)}"
        )
    if dataset == "cifar10" and (h, w) != (32, 32):
        raise ConfigError.for_option("input_size", f"must be (3, 32, 32) for cifar10 images, got {tuple(input_size)}")
    if h != w:
        raise ConfigError.for_option(
            "input_size", f"must be square (H == W) for {dataset} images, got {tuple(input_size)}"
        )


def check_logits(shape: tuple[int, ...], name: str) -> None:
    """Refuse a model whose output is not one row of class scores per image (``ConfigError``)."""
    if len(shape) != 2 or shape[0] != 1 or shape[1] < 2:
        got = shape if shape else "no single tensor"
        raise ConfigError.for_option(
            "model", f"{name} must return class scores of shape (N, classes >= 2) for N images, got {got} for N = 1"
        )


@lru_cache(maxsize=8)
def _model_bundle(
    model: str | nn.Module,
    dataset: str | None,
    data_dir: str | None,
    weights_path: str | None,
    input_size: tuple[int, int, int] | None,
    units: str,
    pruning: str,
    pretrained: bool = True,
    image_folder: str | None = None,
    round_to: int | None = None,
) -> ModelBundle:
    dataset, default_size, mean, std = _model_defaults(model, dataset, image_folder)
    input_size = input_size or default_size
    check_input_fits_data(input_size, dataset, len(mean))
    # A zoo model scores your image folder with one output per class folder (label i = i-th folder).
    num_classes = len(image_folder_classes(image_folder)) if dataset == "imagefolder" and isinstance(model, str) else None
    try:
        net = get_model(
            model, pretrained=pretrained, num_classes=num_classes, weights_path=weights_path, data_dir=data_dir,
            init_seed=0,
        )  # fmt: skip
    except WeightsMismatchError as error:
        if num_classes is None:
            raise
        raise WeightsMismatchError(
            f"{error} (with dataset='imagefolder' the model has one output per class folder of {image_folder}: "
            f"{num_classes}; the checkpoint must be one trained on those classes)",
            error.path,
        ) from error
    name = model if isinstance(model, str) else f"<{type(model).__name__}>"
    # The one forward pass the units, costs and graph share; it is also the check that the model
    # and the input size fit (a ConfigError naming input_size and the model when they do not).
    layers = describe_layers(net, input_size, model_name=name)
    check_logits(layers.output_shape, name)
    method = make_pruning_method(pruning, net, input_size, unit_set=units, layers=layers, round_to=round_to)
    graph = build_graph(net, input_size, layers=layers)
    missing = [u.name for u in method.units if u.name not in graph.module_to_node]
    if missing:
        raise UnsupportedModelError(f"prunable units {missing} have no node in the model graph")
    unit_nodes = np.array([graph.module_to_node[u.name] for u in method.units], dtype=np.int64)
    return ModelBundle(
        net, dataset, tuple(input_size), tuple(mean), tuple(std), method, graph, unit_nodes, num_classes,
        image_folder if dataset == "imagefolder" else None,
    )  # fmt: skip


@lru_cache(maxsize=8)
def _unit_features(bundle: ModelBundle, embedding: str, cache_dir: str | None) -> np.ndarray:
    module_names = [u.module_names for u in bundle.units]
    if embedding == "gnn":
        result = node_embeddings(bundle.graph, GAEConfig(), cache_dir=cache_dir)
        features = unit_embeddings(bundle.graph, result, module_names)
    else:
        features = rule_unit_features(bundle.graph, module_names)
    features = np.asarray(features, dtype=np.float32)
    if features.shape[0] != len(bundle.units) or not np.isfinite(features).all():
        units = len(bundle.units)
        raise InternalError(f"{embedding} unit features have shape {features.shape} for {units} units")
    return np.clip(features, -1.0, 1.0)


@lru_cache(maxsize=8)
def _evaluator(
    bundle: ModelBundle, model_key: str, data_dir: str | None, split_seed: int, size: int, device: str,
    precision: str, tuning_cache: str, recheck_margin: float | None = None,
) -> Evaluator:
    # input_size[-1] only shapes synthetic images (e.g. 64x64 for a torchvision model); real data
    # sets have their own.
    try:
        images = load_split(
            "search", bundle.dataset, data_dir, split_seed=split_seed, size=size, image_size=bundle.input_size[-1],
            image_folder=bundle.image_folder,
        )  # fmt: skip
    except ConfigError as error:
        if error.option != "size":
            raise
        raise ConfigError.for_option("val_size", error.problem) from None
    evaluator = Evaluator(
        images, bundle.mean, bundle.std, device=device, precision=precision, recheck_margin=recheck_margin
    )
    # Precision and batch size are resolved once, on a model like those a search scores: every unit
    # pruned by half (the unpruned model's best batch, 500 on ResNet-56, ran pruned models ~1.3x
    # slower than their own best, 250). A fresh copy: the shared model keeps its device and format.
    representative = bundle.method.prune([TUNING_RATIO] * len(bundle.units))
    key = f"{model_key} pruned {TUNING_RATIO}"
    evaluator.tune(representative, model_key=key, cache=TuningCache(tuning_cache))
    return evaluator


@lru_cache(maxsize=4)
def _calibration(
    dataset: str, image_size: int, data_dir: str | None, split_seed: int, mean: tuple, std: tuple, device: str,
    image_folder: str | None, size: int,
) -> torch.Tensor:
    def calibration_split(count: int | None) -> torch.Tensor:
        return load_split(
            "calibration", dataset, data_dir, split_seed=split_seed, size=count, image_size=image_size,
            image_folder=image_folder,
        ).images  # fmt: skip

    try:
        images = calibration_split(size)
    except ConfigError as error:
        if error.option != "size":
            raise
        if dataset != "imagefolder":
            raise ConfigError.for_option("calibration_size", error.problem) from None
        images = calibration_split(None)  # a small folder of your own: all it has
    # The shipped weights learned their batch-norm statistics on augmented training images: plain
    # ones shift the statistics and cost the *unpruned* ResNet-56 ~1.4 points; augmented once
    # (seeded), re-calibration leaves it within 0.05 points (benchmarks/RESULTS.md).
    augment = training_augmentation(dataset)
    if augment is not None:
        images = augment(images, torch.Generator().manual_seed(split_seed))
    # channels_last, as the evaluator runs the model: no layout change between re-calibration and
    # scoring, and the training-mode batch norms ran ~1.5x faster in it here (ResNet-20, 1 thread).
    return normalize_images(images, mean, std, resolve_device(device)).contiguous(
        memory_format=torch.channels_last
    )


def _guard_forked_process() -> None:
    # A process forked after torch ran a parallel op (AsyncVectorEnv's default on Linux) deadlocks in
    # its first OpenMP region; one thread per worker avoids it (as DataLoader workers do) and is what
    # several workers sharing the cores want anyway.
    if os.getpid() != _IMPORT_PID and torch.get_num_threads() > 1:
        torch.set_num_threads(1)


def get_resources(config: EnvConfig) -> Resources:
    """The shared resources of ``config`` (built on first use in this process)."""
    _guard_forked_process()
    bundle = _model_bundle(
        config.model, config.dataset, config.data_dir, config.weights_path, config.input_size, config.units, config.pruning,
        config.pretrained, config.image_folder, config.round_to,
    )
    features = _unit_features(bundle, config.embedding, config.cache_dir)
    device = str(resolve_device(config.device))
    data = (bundle.dataset, bundle.input_size[-1], config.data_dir, config.split_seed)
    tuning_cache = str(cache_dir(config.cache_dir) / CACHE_FILE)
    evaluator = _evaluator(
        bundle, config.model_name, config.data_dir, config.split_seed, config.val_size, device, config.precision,
        tuning_cache, config.recheck_margin,
    )
    calibration = None
    if config.bn_recalibration:
        calibration = _calibration(*data, bundle.mean, bundle.std, device, bundle.image_folder, config.calibration_size)
    return Resources(bundle, features, evaluator, calibration)


def graph_arrays(bundle: ModelBundle) -> dict[str, np.ndarray]:
    """The graph as numpy arrays, for the ``"graph"`` observation."""
    data = bundle.graph.data
    return {
        "node_features": data.x.detach().cpu().numpy(),
        "edge_index": data.edge_index.detach().cpu().numpy(),
        "unit_nodes": bundle.unit_nodes,
    }


def clear_caches() -> None:
    """Drop every shared resource of this process (frees the models, images and latency models)."""
    for cache in (_model_bundle, _unit_features, _evaluator, _calibration):
        cache.cache_clear()
    clear_latency_models()
