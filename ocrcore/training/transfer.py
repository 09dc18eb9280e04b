"""Starting a model from another one's weights, also across charsets: what a user fine-tuning a pretrained
model onto their own alphabet needs.

Every tensor of the same name and shape is copied (backbone, sequence stage, BatchNorm statistics). The
output layer's rows are matched by character: rows of characters both charsets share (and the CTC blank)
are carried over, rows of new characters keep their fresh initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ocrcore.models import ModelBundle
from ocrcore.models.zoo import get_arch


@dataclass(frozen=True)
class Transfer:
    copied: int  # tensors copied whole
    carried_rows: int  # output rows carried by character (0 when the charsets are the same)
    new_chars: str  # characters of the target charset with freshly initialised rows
    skipped: tuple[str, ...]  # tensors left as initialised (shapes that match no rule)

    def __str__(self) -> str:
        text = f"{self.copied} tensors copied"
        if self.carried_rows or self.new_chars:
            text += (f"; output rows carried for {self.carried_rows} shared classes, "
                     f"{len(self.new_chars)} new characters initialised ({self.new_chars[:40]!r})")
        return text + (f"; left as initialised: {', '.join(self.skipped)}" if self.skipped else "")


def transfer_weights(source: ModelBundle, target: ModelBundle) -> Transfer:
    """Copy `source`'s weights into `target`, matching output rows by character: the same architecture, or one
    the zoo's declaration of `target.arch` says it can start from (`Arch.start_rule`: a variant or its base by
    parameter name, or another architecture it adopts, such as a line reader from a character classifier);
    CheckpointError otherwise."""
    src_labels, dst_labels = source.codec.class_labels, target.codec.class_labels
    row_of = {label: i for i, label in enumerate(src_labels)}
    pairs = [(j, row_of[label]) for j, label in enumerate(dst_labels) if label in row_of]
    new = "".join(label for label in dst_labels if label and label not in row_of)
    rule = get_arch(target.arch).start_rule(source.arch)
    if callable(rule):
        return Transfer(rule(source, target, pairs), len(pairs), new, ())
    src_state, dst_state = source.model.state_dict(), target.model.state_dict()
    relabel = src_labels != dst_labels
    copied, carried, skipped = 0, 0, []
    with torch.no_grad():
        for key, dst in dst_state.items():
            src = src_state.get(key)
            if src is None:
                skipped.append(key)
            elif (relabel and key.startswith(("head", "lead.classify")) and src.shape[0] == len(src_labels)
                  and dst.shape[0] == len(dst_labels) and src.shape[1:] == dst.shape[1:]):
                if pairs:
                    rows_dst, rows_src = zip(*pairs, strict=True)
                    dst[list(rows_dst)] = src[list(rows_src)].to(dst.device)  # the source may lie elsewhere
                carried = len(pairs)
            elif src.shape == dst.shape:
                dst.copy_(src)
                copied += 1
            else:
                skipped.append(key)
    target.model.load_state_dict(dst_state)
    return Transfer(copied, carried, new, tuple(skipped))
