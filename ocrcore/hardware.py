"""What a run ran on, in words, for model cards and benchmark reports."""

from __future__ import annotations

import os
import platform

import torch


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device: torch.device | str) -> bool:
    """Whether `device` computes in bfloat16 natively: a CUDA GPU, or a CPU with AVX512-BF16 or AMX, where
    oneDNN's bf16 convolutions and matrix products train 2-2.3x faster than fp32 on one thread (bench/results/
    train-speedups*.md). Elsewhere bf16 is emulated and no faster, so training stays in fp32."""
    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and bool({"avx512_bf16", "amx_bf16"} & cpu_flags()))


def describe(device: torch.device | str = "cpu") -> str:
    """e.g. "cpu: AMD EPYC 7B13, 2 cores, 1 torch thread" or "cuda: NVIDIA H100 80GB HBM3"."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"{device.type}: {cpu_name()}, {os.cpu_count()} cores, {threads} torch thread{'s' if threads > 1 else ''}"
