"""Evaluator: the shipped accuracies to the hundredth, precision options, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from agmc_env.cost import count_cost
from agmc_env.data import load_split, synthetic_imageset
from agmc_env.evaluate import Evaluator, batch_bounds, resolve_device
from agmc_env.models import get_model, get_spec

SHIPPED_ACCURACY = {"resnet20": 91.73, "resnet32": 92.63, "resnet44": 93.10, "resnet56": 93.39}


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED_ACCURACY))
def test_shipped_weights_reach_published_accuracy(name: str) -> None:
    spec = get_spec(name)
    evaluator = Evaluator(load_split("test"), spec.mean, spec.std, device="cpu")
    assert evaluator.accuracy(get_model(name)) == pytest.approx(SHIPPED_ACCURACY[name], abs=0.005)


def test_accuracy_matches_a_plain_loop(tiny_cnn) -> None:
    images = synthetic_imageset(num_images=37)
    evaluator = Evaluator(images, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), device="cpu", batch_size=8)
    with torch.no_grad():
        x = (images.images.float() / 255 - 0.5) / 0.25
        expected = 100.0 * (tiny_cnn(x).argmax(1) == images.labels).float().mean().item()
    assert evaluator.accuracy(tiny_cnn) == pytest.approx(expected)


def test_bf16_runs(tiny_cnn) -> None:
    evaluator = Evaluator(synthetic_imageset(16), (0.5,) * 3, (0.25,) * 3, device="cpu", precision="bf16")
    assert 0.0 <= evaluator.accuracy(tiny_cnn) <= 100.0


def test_bad_evaluator_arguments() -> None:
    images = synthetic_imageset(4)
    with pytest.raises(ValueError, match="precision must be one of"):
        Evaluator(images, (0.5,) * 3, (0.25,) * 3, precision="int4")
    with pytest.raises(ValueError, match="channels"):
        Evaluator(images, (0.5,), (0.25,))
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")


def test_cost_agrees_with_flop_counter() -> None:
    model = get_model("mobilenet_v2_cifar", pretrained=False)
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 32, 32))
    assert count_cost(model, (3, 32, 32)).flops == counter.get_total_flops()


def test_model_stays_trainable_after_evaluation(tiny_cnn) -> None:
    evaluator = Evaluator(synthetic_imageset(8), (0.5,) * 3, (0.25,) * 3, device="cpu")
    evaluator.accuracy(tiny_cnn)
    tiny_cnn.train()
    loss = tiny_cnn(torch.randn(2, 3, 32, 32)).sum()
    loss.backward()  # fails on inference tensors
    assert tiny_cnn.conv1.weight.grad is not None


def test_screen_stops_only_clearly_bad_models(tiny_cnn) -> None:
    images = synthetic_imageset(num_images=64)
    evaluator = Evaluator(images, (0.5,) * 3, (0.25,) * 3, device="cpu", precision="fp32", batch_size=8)
    full = evaluator.accuracy(tiny_cnn)
    assert evaluator.screen(tiny_cnn, stop_below=-1.0) == (full, False)  # not stopped: the exact score
    estimate, stopped = evaluator.screen(tiny_cnn, stop_below=101.0)
    quarter = Evaluator(synthetic_imageset(num_images=64), (0.5,) * 3, (0.25,) * 3, "cpu", "fp32", 8)
    quarter.images, quarter.labels = quarter.images[:16], quarter.labels[:16]
    assert stopped and estimate == quarter.accuracy(tiny_cnn)


def test_auto_precision_resolves_for_this_cpu(tiny_cnn) -> None:
    from agmc_env.tuning import bf16_native

    evaluator = Evaluator(synthetic_imageset(16), (0.5,) * 3, (0.25,) * 3, device="cpu", precision="auto", batch_size=8)
    evaluator.accuracy(tiny_cnn)
    if not bf16_native():
        assert evaluator.precision == "fp32"
    assert evaluator.precision in ("fp32", "bf16") and evaluator.resolved


def test_autocast_needs_a_resolved_precision() -> None:
    from agmc_env.errors import InternalError

    evaluator = Evaluator(synthetic_imageset(4, image_size=8), (0.5,) * 3, (0.25,) * 3, device="cpu", precision="auto", batch_size=4)
    with pytest.raises(InternalError, match="tune"):
        evaluator.autocast()
    assert not torch.is_autocast_enabled("cpu")
    with evaluator.autocast("bf16"):
        assert torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_accuracy_does_not_depend_on_the_batch_size(precision: str) -> None:
    # The measured batch size (agmc_env.tuning) may differ between two runs of one seeded search; it
    # must then change the speed only, never a reward: every image's logits are the same in any of
    # the evaluator's batches (a one-image batch, whose CPU kernel rounds differently, never occurs).
    torch.manual_seed(0)
    model = get_model("resnet20", pretrained=False)
    images = synthetic_imageset(num_images=41)
    logits = []
    for batch_size in (2, 8, 10, 40, 41):
        evaluator = Evaluator(images, (0.5,) * 3, (0.25,) * 3, device="cpu", precision=precision, batch_size=batch_size)
        evaluator.prepare(model)
        bounds = batch_bounds(len(images), batch_size)
        assert all(end - start > 1 for start, end in bounds) and bounds[-1][1] == 41
        with torch.inference_mode(), evaluator._scoring(model), evaluator.autocast(precision):
            logits.append(torch.cat([model(evaluator.images[start:end]).float() for start, end in bounds]))
    assert all(torch.equal(logits[0], other) for other in logits[1:])


def test_recheck_scores_close_calls_in_fp32(tiny_cnn) -> None:
    # A random CNN's logits on random images are nearly tied, so bf16 flips some predictions: with
    # every image a close call the re-check must give fp32's predictions exactly, with none bf16's.
    model = tiny_cnn
    images = synthetic_imageset(num_images=256)
    scored = {}
    for name, precision, margin in (("fp32", "fp32", None), ("bf16", "bf16", None), ("all", "bf16", math.inf), ("none", "bf16", 0.0)):
        evaluator = Evaluator(images, (0.5,) * 3, (0.25,) * 3, "cpu", precision, batch_size=256, recheck_margin=margin)
        evaluator.prepare(model)
        with torch.inference_mode(), evaluator._scoring(model), evaluator.autocast():
            batch = evaluator.images
            scored[name] = evaluator._recheck(model, batch, model(batch))
        assert evaluator.accuracy(model) == pytest.approx(100.0 * (scored[name] == images.labels).float().mean().item())
    assert not torch.equal(scored["bf16"], scored["fp32"])  # else this test could not fail
    assert torch.equal(scored["all"], scored["fp32"]) and torch.equal(scored["none"], scored["bf16"])
    with pytest.raises(ValueError, match="recheck_margin must be a number >= 0 or None"):
        Evaluator(images, (0.5,) * 3, (0.25,) * 3, recheck_margin=-1.0)
