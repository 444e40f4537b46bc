"""runtime's precision and layout policy: bf16 training only where the hardware has it, fp32 inference on CPU."""

from __future__ import annotations

import contextlib

import pytest
import torch

from artstyle import runtime
from artstyle.training.loop import Trainer

CPU = torch.device("cpu")


@pytest.fixture
def native_bf16(monkeypatch):
    def set_native(value: bool) -> None:
        monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: value)

    return set_native


@pytest.mark.parametrize(
    ("native", "env", "expected"),
    [
        (True, None, torch.bfloat16),  # native bf16: trains in bf16 by default
        (True, "0", None),  # ... unless switched off
        (True, "1", torch.bfloat16),
        (False, None, None),  # emulated bf16 is slower than fp32: never used
        (False, "1", None),
    ],
)
def test_train_autocast_on_cpu(native_bf16, monkeypatch, native, env, expected):
    native_bf16(native)
    if env is None:
        monkeypatch.delenv(runtime.CPU_BF16_ENV, raising=False)
    else:
        monkeypatch.setenv(runtime.CPU_BF16_ENV, env)
    ctx = runtime.train_autocast(CPU)
    if expected is None:
        assert isinstance(ctx, contextlib.nullcontext)
    else:
        assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == expected and ctx.device == "cpu"


def test_inference_on_cpu_is_float32_even_with_native_bf16(native_bf16):
    native_bf16(True)
    assert isinstance(runtime.autocast(CPU), contextlib.nullcontext)


def test_cpu_has_native_bf16_reads_cpu_flags():
    assert isinstance(runtime.cpu_has_native_bf16(), bool)


def test_memory_format_is_channels_last_and_to_device_applies_it():
    assert runtime.memory_format(CPU) == torch.channels_last
    x, y = runtime.to_device((torch.rand(2, 3, 8, 8), torch.arange(2)), CPU)
    assert x.is_contiguous(memory_format=torch.channels_last) and y.tolist() == [0, 1]


def test_bf16_training_step_keeps_float32_weights_and_learns(native_bf16):
    """Under bf16 autocast the conv runs in bf16, but weights, gradients and the loss stay float32."""
    native_bf16(True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 2),
    ).to(memory_format=torch.channels_last)
    seen = []

    def loss_fn(model, batch):
        out = model(batch[0])
        seen.append(out.dtype)
        return torch.nn.functional.cross_entropy(out.float(), batch[1])

    trainer = Trainer(net, loss_fn, torch.optim.Adam(net.parameters(), lr=0.05), None, device=CPU)
    x, y = torch.rand(16, 3, 8, 8), torch.arange(16) % 2
    x[y == 1] += 1.0  # separable by brightness
    losses = [trainer.step((x, y))["loss"] for _ in range(30)]
    assert seen[0] == torch.bfloat16  # the forward really ran in bf16
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < 0.5 * losses[0]
