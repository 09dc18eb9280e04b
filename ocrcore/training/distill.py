"""Knowledge distillation: a student learns a trained teacher's per-step distributions besides the labels.

The teacher reads the same (augmented) batch; the student's loss is (1 - w) x its codec's loss on the labels
plus w x the KL divergence from the teacher's softened distribution to its own at every output step (Hinton
et al., 2015: temperature T, scaled by T^2 so the gradient keeps its size). Step-wise targets need the two
models to agree on what a step is: the same charset (output rows), the same preprocessing and the same
number of output steps for an input, which `check_teacher` verifies before training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ocrcore.models import ModelBundle


def check_teacher(student: ModelBundle, teacher: ModelBundle) -> None:
    """ValueError, saying what differs and what to do, unless `teacher` can teach `student` step by step."""
    if student.charset.chars != teacher.charset.chars:
        raise ValueError(f"the teacher reads charset {teacher.charset.name!r} ({len(teacher.charset)} characters), "
                         f"the student {student.charset.name!r} ({len(student.charset)}): distillation compares "
                         "output rows, so train the student on the teacher's charset (--charset)")
    if student.preprocess != teacher.preprocess:
        raise ValueError(f"the teacher reads images as {teacher.preprocess}, the student as {student.preprocess}: "
                         "both must read the same tensor; build the student with the teacher's height and width")
    pre = student.preprocess
    probe = torch.zeros(1, pre.channels, pre.height, pre.width or 4 * pre.height)
    shapes = []
    for model in (student.model, teacher.model):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            shapes.append(tuple(model(probe).shape))
        model.train(was_training)
    if shapes[0] != shapes[1]:
        raise ValueError(f"for one {tuple(probe.shape)} input the student gives {shapes[0]} outputs and the teacher "
                         f"{shapes[1]}: step-wise distillation needs the same output steps; choose a student whose "
                         "CNN downsamples as the teacher's does")


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, lengths: torch.Tensor,
                 temperature: float = 2.0) -> torch.Tensor:
    """KL(teacher || student) of (B, T, C) logits softened by `temperature`, over each sample's first
    `lengths[b]` steps (the rest is padding), averaged over those steps, times temperature^2."""
    log_p = F.log_softmax(student / temperature, dim=-1)
    log_q = F.log_softmax(teacher / temperature, dim=-1)
    kl = F.kl_div(log_p, log_q, reduction="none", log_target=True).sum(-1)  # (B, T)
    valid = torch.arange(kl.shape[1], device=kl.device)[None] < lengths.to(kl.device)[:, None]
    return (kl * valid).sum() / valid.sum().clamp(min=1) * temperature ** 2
