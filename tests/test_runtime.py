"""runtime's precision and layout policy: bf16 training only where the hardware has it; inference
in float32 on the CPU for pixels, in the training precision for classifiers."""

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


@pytest.mark.parametrize("native", [True, False])
def test_classifiers_infer_in_their_training_precision_pixels_in_float32(native_bf16, monkeypatch, native):
    """Logits (evaluate_classifier, the judges, `artstyle classify`) come from the training precision;
    everything that makes pixels or features stays float32 on the CPU."""
    import numpy as np

    from artstyle import inference
    from artstyle.classify import StyleClassifier
    from artstyle.evaluation import transfer

    native_bf16(native)
    monkeypatch.delenv(runtime.CPU_BF16_ENV, raising=False)
    seen = []

    class Spy(torch.nn.Module):
        num_classes = 27

        def forward(self, x):
            seen.append(
                torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
            )
            return torch.zeros(len(x), 27)

    x = torch.rand(2, 3, 8, 8)
    inference.predict(Spy(), [x], CPU)
    assert seen.pop() is False  # pixels / features: float32
    inference.predict_labelled(Spy(), [(x, torch.arange(2))], CPU)
    transfer.classify(Spy(), x, CPU)
    transfer.judge_test_predictions(
        Spy(), range(27), np.zeros((2, 8, 8, 3), np.uint8), np.arange(2), np.arange(2), CPU
    )
    StyleClassifier(Spy(), tuple(range(27)), 8, device=CPU).logits(np.zeros((2, 8, 8, 3), np.uint8))
    assert seen == [native] * 4


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


# ---------------------------------------------------------------------------------------------
# The CUDA path without a GPU: the choices made for a CUDA device, with torch's CUDA queries
# patched where a real one would be asked. Nothing here runs a kernel on a GPU: that is the job
# of the GPU check (tools/gpu_check.sh, docs/benchmarks.md), which has not run on hardware yet.
# ---------------------------------------------------------------------------------------------

CUDA = torch.device("cuda")


@pytest.mark.parametrize(("available", "expected"), [(True, "cuda"), (False, "cpu")])
def test_pick_device_follows_cuda_availability(monkeypatch, available, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert runtime.pick_device() == torch.device(expected)
    assert runtime.pick_device("cuda:1") == torch.device("cuda", 1)  # an explicit choice wins
    assert runtime.pick_device("cpu") == CPU


@pytest.mark.filterwarnings("ignore:.*CUDA is not available.*:UserWarning")
@pytest.mark.parametrize("policy", [runtime.autocast, runtime.train_autocast])
def test_cuda_autocast_is_bf16_for_inference_and_training(native_bf16, policy):
    native_bf16(False)  # the CPU's bf16 plays no part on CUDA
    ctx = policy(CUDA)
    # Without a GPU torch builds the context but disables it (with a warning): type, device and
    # dtype are the policy's; whether it is enabled is the hardware's.
    assert isinstance(ctx, torch.autocast) and ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16


def test_memory_format_on_cuda_is_channels_last():
    assert (
        runtime.memory_format(CUDA) == torch.channels_last == runtime.memory_format(torch.device("cuda", 1))
    )


@pytest.fixture
def torch_flags():
    """Restore the global torch flags configure_torch sets."""
    saved = (
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    yield
    torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = (
        saved[:3]
    )
    torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])


def test_configure_torch_fast_kernels_on_cuda_deterministic_on_cpu(torch_flags):
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(False)
    runtime.configure_torch(CUDA)
    assert (
        torch.backends.cudnn.benchmark
        and torch.backends.cuda.matmul.allow_tf32
        and torch.backends.cudnn.allow_tf32
    )
    assert not torch.are_deterministic_algorithms_enabled()  # CUDA trades bit-exactness for speed
    runtime.configure_torch(CPU)
    assert torch.are_deterministic_algorithms_enabled()


def test_configure_torch_on_cpu_sets_the_flag_without_loading_the_compiler():
    """In a fresh process (a stage) the deterministic flag is set, warn-only, and torch._inductor
    (1.8 s to import, used by no stage) stays unloaded."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from artstyle import runtime\n"
        "runtime.configure_torch(torch.device('cpu'))\n"
        "print(torch.are_deterministic_algorithms_enabled(),"
        " torch.is_deterministic_algorithms_warn_only_enabled(),"
        " 'torch._inductor' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"]


def test_bench_timing_waits_for_cuda_work_and_only_there(monkeypatch):
    """Every timed bench section reads its clock between two synchronize calls on CUDA (queued
    kernels would otherwise be missed); on the CPU there is nothing to wait for."""
    from artstyle.bench import common
    from artstyle.bench import stylize as bench_stylize

    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(device))
    common.synchronize(CPU)
    assert synced == []
    common.synchronize(CUDA)
    assert synced == [CUDA]

    synced.clear()
    calls = []
    ms = bench_stylize._timed(lambda: calls.append(len(synced)), CUDA)
    assert synced == [CUDA, CUDA] and calls == [1] and ms >= 0.0  # the work ran between the two waits
    synced.clear()
    bench_stylize._timed(lambda: None, CPU)
    assert synced == []


@pytest.mark.filterwarnings("ignore:.*CUDA is not available.*:UserWarning")
@pytest.mark.parametrize("pin_memory", [True, False])
def test_describe_runtime_on_cuda_records_the_cuda_policy(monkeypatch, pin_memory):
    from artstyle.bench.common import describe_runtime, runtime_line

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA Test GPU")
    r = describe_runtime(CUDA, pin_memory=pin_memory)
    assert r["device"] == "cuda" and r["device_name"] == "NVIDIA Test GPU"
    assert r["autocast"] == r["train_autocast"] == "bfloat16" and r["channels_last"]
    assert r["non_blocking"] is pin_memory  # copies are asynchronous only from pinned memory
    assert "cuda (NVIDIA Test GPU)" in runtime_line({**r, "measured_at": ""})


def test_distributed_init_pins_each_rank_to_its_gpu_with_nccl(monkeypatch):
    from artstyle import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    current, backends = [], []
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: bool(backends))
    monkeypatch.setattr(distributed.dist, "init_process_group", backends.append)
    monkeypatch.setattr(distributed.dist, "get_rank", lambda: 1)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 2)
    ctx = distributed.init()
    assert ctx.device == torch.device("cuda", 1) and current == [ctx.device] and backends == ["nccl"]
    assert ctx.rank == 1 and ctx.distributed and not ctx.is_main

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # rank 1 on a one-GPU machine
    with pytest.raises(RuntimeError, match="LOCAL_RANK=1 has no GPU of its own"):
        distributed.init()
