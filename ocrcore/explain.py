"""Grad-CAM heatmaps: where the model looked for each character it read.

Written with our own hooks (the `grad-cam` package cannot be imported next to torch 2.13). The target
layer is the model's `backbone` stage, found by name. Targets per architecture:

- CTC models: one map per decoded character, the target being that character's logit summed over the
  output time steps that emitted it (`Prediction.frames`), plus a combined map;
- fixed-length models: one map per head (the head's predicted class); the classifier's top class.

Grad-CAM++ weights (Chattopadhay et al. 2018) are available with `method="gradcam++"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ocrcore.decoding import Codec, CTCCodec, Prediction, best_readings, needs_other_views
from ocrcore.fonts import FontNotFoundError, cjk_fonts
from ocrcore.images import ImageSource, fit, load_image
from ocrcore.models import ModelBundle
from ocrcore.preprocess import preprocess, stitch_rows


@dataclass(frozen=True)
class Explanation:
    """Heatmaps in [0, 1] at the shown image's size (the input, or its bounded preview): `per_char[i]` for
    output character i, and `combined`."""

    prediction: Prediction
    per_char: list[np.ndarray]
    combined: np.ndarray
    image: np.ndarray  # the RGB input as the kept reading saw it (`_read_view`), or its preview, uint8 (H, W, 3)

    def overlays(self, alpha: float = 0.45) -> list[Image.Image]:
        """The input with each character's heatmap blended on top (combined map first)."""
        return [overlay(self.image, m, alpha) for m in (self.combined, *self.per_char)]

    def combined_overlay(self, alpha: float = 0.45) -> Image.Image:
        """The input with the map of all characters together blended on top."""
        return overlay(self.image, self.combined, alpha)

    def stacked(self, alpha: float = 0.45, strip_height: int = 40) -> Image.Image:
        """Every character's map on one picture, for lines: a strip per character, top to bottom, each with the
        character it explains at its left, and the colour scale below."""
        h, w = self.image.shape[:2]
        strip_w = max(1, round(w * strip_height / h))
        label_w = strip_height + 8
        strips = [overlay(self.image, m, alpha).resize((strip_w, strip_height)) for m in self.per_char]
        scale = colour_scale(strip_w, 14)
        sheet = Image.new("RGB", (label_w + strip_w, len(strips) * (strip_height + 2) + scale.height + 22), "white")
        draw = ImageDraw.Draw(sheet)
        font = _label_font(int(strip_height * 0.7))
        for i, (char, strip) in enumerate(zip(self.prediction.text, strips, strict=False)):
            y = i * (strip_height + 2)
            draw.text((4, y + strip_height // 2), char, font=font, fill=(20, 20, 20), anchor="lm")
            sheet.paste(strip, (label_w, y))
        y = len(strips) * (strip_height + 2) + 4
        sheet.paste(scale, (label_w, y))
        small = _label_font(12)
        draw.text((label_w, y + scale.height + 2), "low", font=small, fill=(60, 60, 60))
        draw.text((label_w + strip_w, y + scale.height + 2), "high attention", font=small, fill=(60, 60, 60),
                  anchor="ra")
        return sheet


def colour_scale(width: int, height: int) -> Image.Image:
    """The heatmaps' colours from low (left) to high (right)."""
    ramp = np.tile(np.linspace(0, 1, max(width, 2), dtype=np.float32), (height, 1))
    return Image.fromarray(cv2.applyColorMap((ramp * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1])


@cache
def _label_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A CJK font for the characters beside the strips, else PIL's own."""
    try:
        return cjk_fonts()[0].pil(size)
    except FontNotFoundError:
        return ImageFont.load_default(size)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> Image.Image:
    colour = cv2.applyColorMap((heatmap * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    return Image.fromarray((image * (1 - alpha) + colour * alpha).astype(np.uint8))


class GradCAM:
    """Grad-CAM over `bundle.model.<layer>` (default: the `backbone` stage), for the reading `codec` gives (default:
    the bundle's own, greedy; pass a recogniser's codec to explain what it reads)."""

    def __init__(self, bundle: ModelBundle, layer: str = "backbone", method: str = "gradcam",
                 codec: Codec | None = None) -> None:
        if method not in ("gradcam", "gradcam++"):
            raise ValueError(f"method must be 'gradcam' or 'gradcam++', not {method!r}")
        self.bundle, self.method, self.codec = bundle, method, codec if codec is not None else bundle.codec
        self.target = getattr(bundle.model, layer, None)
        if self.target is None:
            raise ValueError(f"{bundle.arch} has no stage named {layer!r}; its stages are "
                             f"{[n for n, _ in bundle.model.named_children()]}")

    def explain(self, source: ImageSource, max_side: int | None = None) -> Explanation:
        """Maps for the model's reading of `source`, drawn at its size or, with `max_side`, on a preview of at
        most that many pixels a side (the model reads the full image either way)."""
        model, device = self.bundle.model, next(self.bundle.model.parameters()).device
        image = self._read_view(np.asarray(load_image(source)), device)
        x = torch.from_numpy(preprocess(image, self.bundle.preprocess))[None].to(device)  # (1, C, H, W)
        store: dict[str, torch.Tensor] = {}
        hook = self.target.register_forward_hook(lambda _m, _i, out: store.__setitem__("act", out))
        was_training = model.training
        model.eval()
        # cuDNN's RNN backward needs training mode: switch only the RNNs, with their dropout off, so the
        # explained reading is the one the model gives in eval mode.
        rnns = [m for m in model.modules() if isinstance(m, torch.nn.RNNBase)] if device.type == "cuda" else []
        dropouts = [m.dropout for m in rnns]
        for m in rnns:
            m.dropout = 0.0
            m.train()
        try:
            logits = model(x)  # (1, T, C)
            act = store["act"]
            prediction = self.codec.decode(logits.detach(), self._lengths(x))[0]
            maps = [self._cam(logits[0, frames, cls].sum(), act) for cls, frames in self._targets(prediction)]
        finally:
            hook.remove()
            for m, p in zip(rnns, dropouts, strict=True):
                m.dropout = p
            model.train(was_training)
        shown = np.asarray(fit(Image.fromarray(image), max_side=max_side)) if max_side else image
        size = (shown.shape[1], shown.shape[0])
        columns = x.shape[-1] + getattr(model, "context", 0)  # a line reader also reads context columns past the edge
        per_char = [_resize(m, size, columns, self._content_width(image)) for m in maps]
        combined = _normalise(np.maximum.reduce(per_char)) if per_char else np.zeros(shown.shape[:2], np.float32)
        return Explanation(prediction, per_char, combined, shown)

    @torch.no_grad()
    def _read_view(self, image: np.ndarray, device: torch.device) -> np.ndarray:
        """The image as the kept reading saw it: itself, or for a model of two-row plates (`Preprocess.two_row`)
        its rows side by side when the recognizer keeps that reading (`best_readings`)."""
        if not self.bundle.preprocess.two_row:
            return image
        candidates, was_training = [image, stitch_rows(image)], self.bundle.model.training
        self.bundle.model.eval()
        try:
            readings = []
            for candidate in candidates:  # the stitched view only where it can change the reading, as the recognizer
                x = torch.from_numpy(preprocess(candidate, self.bundle.preprocess))[None].to(device)
                readings.append(self.codec.decode(self.bundle.model(x).float().cpu(), self._lengths(x))[0])
                if not needs_other_views(readings[0]):
                    break
        finally:
            self.bundle.model.train(was_training)
        return candidates[readings.index(best_readings(readings, [len(readings)])[0])]

    def _lengths(self, x: torch.Tensor) -> torch.Tensor | None:
        return self.bundle.output_lengths(torch.tensor([x.shape[-1]]))

    def _targets(self, prediction: Prediction) -> list[tuple[int, list[int]]]:
        """(class index, output rows) per decoded character."""
        offset = 1 if isinstance(self.codec, CTCCodec) else 0  # CTC class 0 is the blank
        chars = self.bundle.charset.chars
        return [(chars.index(c) + offset, list(frames)) for c, frames in zip(prediction.text, prediction.frames,
                                                                          strict=True)]

    def _cam(self, score: torch.Tensor, act: torch.Tensor) -> np.ndarray:
        (grad,) = torch.autograd.grad(score, act, retain_graph=True)  # (1, K, h, w)
        if self.method == "gradcam++":
            g2, g3 = grad.pow(2), grad.pow(3)
            alpha = g2 / (2 * g2 + (act * g3).sum(dim=(2, 3), keepdim=True)).clamp_min(1e-7)
            weights = (alpha * torch.relu(grad)).sum(dim=(2, 3), keepdim=True)
        else:
            weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
        cam = torch.relu((weights * act).sum(dim=1))[0]  # (h, w)
        return cam.detach().float().cpu().numpy()

    def _content_width(self, image: np.ndarray) -> int:
        """Columns of the model input holding the image (the rest is right padding of fixed-width inputs)."""
        pre = self.bundle.preprocess
        return pre.target_width(image.shape[1], image.shape[0])


def _resize(cam: np.ndarray, size: tuple[int, int], input_width: int, content_width: int) -> np.ndarray:
    """Crop the padding columns off, then stretch the map to the image's size."""
    keep = max(1, round(cam.shape[1] * content_width / input_width))
    return _normalise(cv2.resize(np.ascontiguousarray(cam[:, :keep]), size, interpolation=cv2.INTER_LINEAR))


def _normalise(cam: np.ndarray) -> np.ndarray:
    top = float(cam.max())
    return (cam / top).astype(np.float32) if top > 0 else np.zeros_like(cam, dtype=np.float32)
