"""Multi-process training under `torchrun`: the same entry point, one process per GPU (or CPU, with gloo).

    torchrun --nproc_per_node=4 -m ocrcore train --arch crnn --data data/captcha --out runs/captcha
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size), starting the process group on first use when launched by torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank())
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
