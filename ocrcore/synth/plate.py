"""Chinese licence plates as the tight crops a plate detector returns, with roadside degradations.

Layout follows GA 36 proportions in millimetres: a 440x140 plate (480x140 for green new-energy plates),
45x90 character cells (43x90 on green plates), 12 mm gaps and a wide gap holding the separator dot after
the second character; large new-energy plates (`green_large`: five digits, then D or F) are yellow up to
the dot and green after it; two-row yellow plates (`yellow_double`: the rear plates of trucks, buses and trailers)
are 440x220 with the province and the letter above and five characters below (`_layout`). Glyphs are rendered
large, cropped to their ink and squeezed into the cell, which gives the narrow, condensed look of plate lettering.

Two-row plates come out as a two-row reader sees them (`two_row_view="stitched"`): the top row set before the
bottom one (`ocrcore.preprocess.stitch_rows`), so a one-line model learns to read them; models trained on such
data read every image both as it is and stitched, and keep the better reading (`Preprocess.two_row`).
`two_row_view="raw"` gives the crop as the camera sees it, to measure that reader end to end.

Two knobs say how close to the road the images are (bench/real_plates.py measures each on real crops):
- `glyphs="ga36"`: the plate typeface's look - even strokes of 9-16 % of the glyph height (GA 36: 10 mm on a
  90 mm character) whatever the font's weight, several upright sans faces, and the standard's `1` (a bare stem,
  rarely with a short flag, no foot: DejaVu's footed `1` was read as J or T on real plates), flat-topped `3`
  (read as 8 after the first change) and `M` (its V meets halfway down; read as H after the second).
  `"bold"`: DejaVu Sans Bold as the font draws it (the baseline of the real-plate study). `"vector"`: the
  plate alphabet drawn from GA 36's stroke geometry (`ocrcore.synth.plate_glyphs`: straight-sided 0, square-backed
  D, Q's tail through its foot, flat-topped 3, hookless J), no text font at all, strokes as for "ga36".
  `"mixed"` (the default): each plate in "ga36" or "vector" (half each): no one typeface's details to fit.
- `camera="detector"`: the plate tilted by a few degrees inside the axis-aligned box a detector returns, the box
  tight with small random margins, and lighter blur and haze (real crops are sharper than `"loose"`'s).
  `"loose"`: each corner placed loosely at random, heavier blur and haze (the study's baseline). `"varied"`:
  crops as detectors of other cameras hand them over - the plate 40 to 260 px wide (log-uniform), margins from
  clipped to loose (each side up to a quarter of the plate's width and three quarters of its height, mostly
  tight), a holder frame and the car body around it, so sizes and aspect ratios vary as they do on the road
  (real crops: 53-282 px wide, aspect 0.7-5.5); `size` is then unused: models read plates through the task's
  fixed input (`input_width`). `"mixed"` (the default): each crop "detector" (at `size`) or "varied" (half each).
The defaults are the generator the shipped plate model trains and is tested on (gothic hanzi, cut sides to 0.09,
bloom and tilt on 15 % of crops); set a knob to its neutral value (`hanzi_faces="hei"`, `cut_side=0.15`,
`cut_depth=0.07`, `bloom=0`, `tilt=0`) to draw as earlier test sets did (bench/real_plates.py).
- `hanzi_faces`: which CJK faces draw the province hanzi. `"hei"`: the WenQuanYi hei faces (the baseline of the
  real-plate study). `"gothic"`: every installed upright sans CJK face (WenQuanYi, Noto Sans CJK Regular and Bold,
  Droid Sans Fallback): the plate's hanzi are a gothic of its own, heavier than wqy, so no one face's details to fit.
- `hanzi_stroke`: the province hanzi's strokes evened to about this share of its height (+-15 %) before the
  squeeze into its cell, as the plate's heavy hanzi (0: the hei font's own weight, 6.5-9 % for wqy).
- `cut_depth`: how far a cut side (`cut_side`) may reach into the plate, a share of its width drawn from 2 % up
  to it: 0.07 cuts through the rim into the first or last character's edge, 0.09 through half of it (the province
  hanzi spans 3.5-14 % of the width), as tight detector boxes do; deeper cuts leave a label the crop no longer shows.
- `bloom`: the share of crops whose bright paint glows past its edges (`degrade.bloom`: overexposure, an
  infrared flash): white strokes swell and the plate beside them turns pale.
- `isp`: the share of crops a surveillance camera's processor has worked on (`degrade.camera_processing`):
  sharpening halos, vivid or washed-out colour, interlaced fields.
- `soft`: the share of crops seen by a far or poor camera (`degrade.soften`): taken at 35-65 % of the output's
  size (a 94-px crop from 33-61 px of plate) and blurred again once enlarged, so strokes run together and the
  province hanzi is a blob of its outline; the other degradations blur far less (at most about 1 px).
- `tilt`: the share of detector crops taken at a steep angle - roll N(0, 9) degrees up to 20, yaw up to 25 %, shear
  up to 15 % - as cameras above a lane or beside a gate see many plates (0: every crop as `camera` alone draws it).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import ClassVar

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ocrcore.charsets import PLATE_LETTERS, PLATE_PROVINCES
from ocrcore.fonts import Font, cjk_fonts, fonts_covering, installed_fonts
from ocrcore.preprocess import stitch_rows
from ocrcore.synth import degrade
from ocrcore.synth.base import Generator
from ocrcore.synth.plate_glyphs import draw_glyph

ALNUM = PLATE_LETTERS + string.digits
PX_PER_MM = 0.5  # the plate is drawn at 220x70 px, then warped and resized to the output size

# (background top, background bottom, text, frame) colours; green plates are a white-to-green gradient.
PLATE_COLOURS = {
    "blue": ((12, 62, 170), (8, 52, 150), (245, 245, 245), (235, 235, 235)),
    "yellow": ((240, 190, 20), (225, 175, 10), (20, 20, 20), (20, 20, 20)),
    "green": ((235, 245, 235), (70, 190, 100), (15, 15, 15), (40, 40, 40)),
    "white": ((240, 240, 240), (228, 228, 228), (15, 15, 15), (20, 20, 20)),
    "black": ((18, 18, 18), (10, 10, 10), (240, 240, 240), (230, 230, 230)),
    "yellow_double": ((240, 190, 20), (225, 175, 10), (20, 20, 20), (20, 20, 20)),
    "green_large": ((235, 245, 235), (70, 190, 100), (15, 15, 15), (40, 40, 40)),  # the province part: yellow
}
TWO_ROW_TYPES = ("yellow_double",)  # trucks, buses and trailers: province and letter above, five characters below
CAR_COLOURS = np.array([(235, 235, 235), (190, 190, 195), (120, 120, 125), (30, 30, 32), (140, 20, 25),
                        (20, 40, 90), (200, 180, 140), (60, 70, 60), (90, 60, 40)], np.int16)
DEFAULT_TYPES = ("blue", "yellow", "green", "white", "black", "yellow_double", "green_large")
# Most plates on the road are blue (small passenger cars), then green new-energy and yellow (large vehicles: the
# rear plates of trucks, buses and trailers are two-row); large new-energy vehicles carry yellow-and-green plates.
DEFAULT_WEIGHTS = (0.6, 0.1, 0.12, 0.04, 0.04, 0.07, 0.03)
TWO_ROW_VIEWS = ("stitched", "raw")
GLYPHS = ("ga36", "bold", "vector", "mixed")
HANZI_FACES = ("hei", "gothic")
CAMERAS = ("detector", "loose", "varied", "mixed")
MIXED_GLYPHS = ("ga36", "vector")  # "mixed": each plate drawn in one of these, evenly
MIXED_CAMERAS = ("detector", "varied")  # "mixed": each crop taken by one of these, evenly
HOLDER_COLOURS = np.array([(25, 25, 28), (60, 60, 64), (185, 185, 190), (150, 120, 60)], np.int16)


def plate_number(plate_type: str, rng: np.random.Generator, all_class: bool, suffix_prob: float) -> str:
    """A plate string: a uniformly drawn province, a letter, then 5 (6 on green plates) characters."""
    head = PLATE_PROVINCES[rng.integers(len(PLATE_PROVINCES))] + PLATE_LETTERS[rng.integers(len(PLATE_LETTERS))]
    pick = lambda pool: pool[rng.integers(len(pool))]  # noqa: E731
    if plate_type == "green_large":  # five digits, then D (electric) or F (hybrid)
        return head + "".join(pick(string.digits) for _ in range(5)) + pick("DF")
    if plate_type == "green":
        if all_class:
            return head + "".join(pick(ALNUM) for _ in range(6))
        if rng.random() < 0.7:  # small car: D (electric) or F (hybrid) first
            return head + pick("DF") + pick(ALNUM) + "".join(pick(string.digits) for _ in range(4))
        return head + "".join(pick(string.digits) for _ in range(5)) + pick("DF")
    body = [pick(ALNUM) if all_class or rng.random() < 0.25 else pick(string.digits) for _ in range(5)]
    suffixes = {"yellow": "挂学", "yellow_double": "挂", "white": "警", "black": "港澳领使"}.get(plate_type, "")
    if all_class and rng.random() < suffix_prob:
        body[-1] = pick("挂学警港澳领使")
    elif suffixes and (not plate_type.startswith("yellow") or rng.random() < suffix_prob):
        body[-1] = pick(suffixes)
    return head + "".join(body)


Box = tuple[float, float, float, float]  # x, y, width, height in millimetres


def _layout(n_chars: int, two_row: bool = False) -> tuple[tuple[int, int], list[Box], tuple[float, float]]:
    """Plate (width, height), each character's cell and the separator dot's centre, in millimetres (GA 36).

    One row: 440 x 140 (green: 480), cells 45 x 90 (green 43), 12 mm gaps (green 9) and a wide gap holding the
    dot after the second character. Two rows (440 x 220): the province and the letter in 80 x 60 cells above,
    either side of the dot, and the other five characters in 65 x 110 cells with 15 mm gaps below.
    """
    if two_row:
        top = [(110.0, 15.0, 80.0, 60.0), (250.0, 15.0, 80.0, 60.0)]
        return (440, 220), top + [(27.5 + 80.0 * i, 95.0, 65.0, 110.0) for i in range(n_chars - 2)], (220.0, 45.0)
    if n_chars == 8:
        width, cell, gap, wide, margin = 480, 43, 9, 51, 15.5
    else:
        width, cell, gap, wide, margin = 440, 45, 12, 34, 15.5
    boxes, x = [], margin
    for i in range(n_chars):
        boxes.append((x, 25.0, float(cell), 90.0))
        x += cell + (wide if i == 1 else gap)
    return (width, 140), boxes, (boxes[1][0] + cell + wide / 2, 70.0)


def _ink(char: str, font: Font) -> Image.Image:
    """The character drawn at 96 px, cropped to its ink (an L mask of its own)."""
    return _drawn_ink(char, font).copy()


@lru_cache(maxsize=8192)  # a plate alphabet (~70 characters) in a dozen faces; rendering it was 9 % of a plate
def _drawn_ink(char: str, font: Font) -> Image.Image:
    pil_font = font.pil(96)
    left, top, right, bottom = pil_font.getbbox(char)
    mask = Image.new("L", (right - left + 8, bottom - top + 8))
    ImageDraw.Draw(mask).text((4 - left, 4 - top), char, font=pil_font, fill=255)
    return mask.crop(mask.getbbox())


def ga36_one(height: int, rng: np.random.Generator) -> Image.Image:
    """GA 36's `1`: a bare vertical stem, now and then with a short flag down to the left at its top; no foot."""
    stem = max(2, round(0.12 * height))
    flag = round(rng.uniform(0.18, 0.3) * height) if rng.random() < 0.3 else 0
    mask = Image.new("L", (flag + stem + 4, height + 4))
    x0 = 2 + flag
    draw = ImageDraw.Draw(mask)
    draw.rectangle((x0, 2, x0 + stem - 1, height + 1), fill=255)
    if flag:
        draw.line((x0 + stem // 2, 2 + stem // 2, 2 + stem // 2, 2 + flag), fill=255, width=stem)
    return mask.crop(mask.getbbox())


def ga36_three(font_three: Image.Image) -> Image.Image:
    """GA 36's `3` has a flat top: a bar, a diagonal down to the middle, then the font's lower bowl."""
    ink = np.asarray(font_three)
    h, w = ink.shape
    stem = max(2, round(2 * float(np.percentile(
        cv2.distanceTransform(np.pad((ink > 127).astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1][ink > 127], 90))))
    out = ink.copy()
    middle = int(0.45 * h)
    out[:middle] = 0
    mask = Image.fromarray(out)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((round(0.08 * w), 0, w - 1, stem - 1), fill=255)
    draw.line((w - 1 - stem // 2, stem // 2, round(0.45 * w), middle + stem // 2), fill=255, width=stem)
    return mask


def ga36_m(font_m: Image.Image) -> Image.Image:
    """GA 36's `M`: two upright stems whose V meets only about halfway down (a font's V reaching the foot reads
    as a different letter, and the real plates' M was read as H)."""
    w, h = font_m.size
    stem = max(2, round(0.12 * h))
    mask = Image.new("L", (w, h))
    draw = ImageDraw.Draw(mask)
    draw.rectangle((0, 0, stem - 1, h - 1), fill=255)
    draw.rectangle((w - stem, 0, w - 1, h - 1), fill=255)
    depth = round(0.6 * h)
    draw.line((stem // 2, stem // 2, w // 2, depth), fill=255, width=stem)
    draw.line((w - 1 - stem // 2, stem // 2, w // 2, depth), fill=255, width=stem)
    return mask


def even_strokes(mask: Image.Image, fraction: float, rounds: int = 2) -> Image.Image:
    """Thin or thicken the ink so that its strokes are about `fraction` of the glyph height wide.

    The stroke width is read from the distance transform (twice its 90th percentile over the ink), then the
    mask is eroded or dilated by the difference, twice (junctions make one reading overestimate a bold
    face's stem): any font's weight becomes the plate's even stroke.
    """
    for _ in range(rounds):
        ink = np.pad((np.asarray(mask) > 127).astype(np.uint8), 1)  # a border: a bare stem is ink to its edges
        if not ink.any():
            return mask
        stroke = 2 * float(np.percentile(cv2.distanceTransform(ink, cv2.DIST_L2, 5)[ink > 0], 90))
        radius = int(round((fraction * mask.height - stroke) / 2))
        if radius == 0:
            return mask
        size = 2 * abs(radius) + 1
        grey = np.pad(np.asarray(mask), abs(radius))  # room to grow
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        out = cv2.dilate(grey, kernel) if radius > 0 else cv2.erode(grey, kernel)
        if not out.any():
            return mask
        mask = Image.fromarray(out)
        mask = mask.crop(mask.getbbox())
    return mask


def _glyph(char: str, font: Font, cell_w: int, cell_h: int, stretch: bool, ga36: bool = False,
           rng: np.random.Generator | None = None, stroke: float = 0.12, hanzi_stroke: float = 0.0) -> Image.Image:
    """The character's ink as an L mask fitted into a cell: stretched (hanzi) or height-fitted (alnum).

    With `ga36` (and its `rng`), an alphanumeric gets strokes of `stroke` x its height and `1` the standard's shape;
    a hanzi gets strokes of `hanzi_stroke` x its height (before the squeeze into the cell) when that is > 0.
    """
    mask = _ink(char, font)
    if stretch and hanzi_stroke > 0:
        mask = even_strokes(mask, hanzi_stroke, rounds=1)
    if ga36 and not stretch:
        shaped = {"1": lambda: ga36_one(mask.height, rng), "3": lambda: ga36_three(mask),
                  "M": lambda: ga36_m(mask)}.get(char, lambda: mask)()
        mask = even_strokes(shaped, stroke)
    if stretch:
        return mask.resize((cell_w, cell_h), Image.Resampling.LANCZOS)
    w = min(cell_w, max(1, round(mask.width * cell_h / mask.height)))
    return mask.resize((w, cell_h), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class PlateGenerator(Generator):
    """Blue, yellow, green new-energy, white (police) and black plates as degraded detector crops.

    `size` is the output (width, height); 94x24 is what common recognisers take. `all_class` draws every
    position after the first two uniformly (and suffixes with `suffix_prob`) so each class is frequent;
    otherwise numbers follow the real formats. `degrade` in [0, 1] scales every degradation.
    """

    task: ClassVar[str] = "plate"
    input_hint: ClassVar[str] = ("One Chinese licence plate, cropped to the plate (as a plate detector hands it "
                                 "over); in a photo of a whole car, crop the plate first.")
    # Crops of every size and aspect become one input geometry, stretched to 32 x 128 (the 94 x 24 crop's shape):
    # a crop's width then never tells the model how far apart the characters are.
    input_width: ClassVar[int | None] = 128
    charset_name: str = "plate"
    size: tuple[int, int] = (94, 24)
    types: tuple[str, ...] = DEFAULT_TYPES
    type_weights: tuple[float, ...] = DEFAULT_WEIGHTS
    all_class: bool = False
    suffix_prob: float = 0.15
    degrade: float = 1.0
    glyphs: str = "mixed"
    camera: str = "mixed"
    tilt: float = 0.15
    hanzi_stroke: float = 0.0
    hanzi_faces: str = "gothic"
    two_row_view: str = "stitched"
    cut_side: float = 0.25
    cut_depth: float = 0.09
    bloom: float = 0.15
    isp: float = 0.0
    soft: float = 0.0

    def __post_init__(self) -> None:
        if self.two_row_view not in TWO_ROW_VIEWS:
            raise ValueError(f"two_row_view must be one of {TWO_ROW_VIEWS}, not {self.two_row_view!r}")
        unknown = set(self.types) - set(PLATE_COLOURS)
        if unknown or len(self.types) != len(self.type_weights):
            raise ValueError(f"types must be among {list(PLATE_COLOURS)} with one weight each; got {self.types}")
        if self.hanzi_faces not in HANZI_FACES:
            raise ValueError(f"hanzi_faces must be one of {HANZI_FACES}, not {self.hanzi_faces!r}")
        if not 0 <= self.hanzi_stroke < 0.3:
            raise ValueError(f"hanzi_stroke is a share of the glyph height below 0.3 (0: off); got {self.hanzi_stroke}")
        if not 0 <= self.cut_side <= 1:
            raise ValueError(f"cut_side is a share of the crops' left and right sides, between 0 and 1; "
                             f"got {self.cut_side}")
        if not 0.02 <= self.cut_depth <= 0.12:
            raise ValueError(f"cut_depth is the deepest cut into a plate side, a share of its width between 0.02 "
                             f"and 0.12 (deeper cuts remove characters the label still names); got {self.cut_depth}")
        if not 0 <= self.bloom <= 1:
            raise ValueError(f"bloom is a share of the crops, between 0 and 1; got {self.bloom}")
        if not 0 <= self.isp <= 1:
            raise ValueError(f"isp is a share of the crops, between 0 and 1; got {self.isp}")
        if not 0 <= self.soft <= 1:
            raise ValueError(f"soft is a share of the crops, between 0 and 1; got {self.soft}")
        if not 0 <= self.tilt <= 1:
            raise ValueError(f"tilt is a share of the crops, between 0 and 1; got {self.tilt}")
        if self.glyphs not in GLYPHS or self.camera not in CAMERAS:
            raise ValueError(f"glyphs must be one of {GLYPHS} and camera one of {CAMERAS}; "
                             f"got glyphs={self.glyphs!r}, camera={self.camera!r}")

    @cached_property
    def _fonts(self) -> tuple[list[Font], list[Font]]:
        """Plate lettering is an upright gothic: hei-style hanzi (`hanzi_faces`), upright sans Latin (bold only for
        "bold"; for "ga36" any weight but extra-light, as the strokes are evened out; never monospaced: its 0 has
        a dot)."""
        excluded = ("oblique", "italic", "serif", "mono", "light")
        kinds = ("hei",) if self.hanzi_faces == "hei" else ("hei", "sans")
        hanzi = [f for f in cjk_fonts() if any(k in f.name.lower() for k in kinds)
                 and not any(k in f.name.lower() for k in excluded)] or cjk_fonts()
        cjk = {f.path for f in fonts_covering("皖京沪", installed_fonts())}  # their Latin is not a plate's
        upright_sans = [f for f in fonts_covering(ALNUM, installed_fonts())
                        if ("bold" in f.name.lower() or self.glyphs in ("ga36", "mixed") and "sans" in f.name.lower())
                        and not any(k in f.name.lower() for k in excluded) and f.path not in cjk]
        # DejaVu Sans where installed: the faces the GA 36 look was measured with (other sans faces a machine
        # happens to have would change the generator under a pretrained model).
        dejavu = [f for f in upright_sans if "dejavu" in f.name.lower()]
        return hanzi, dejavu or upright_sans or hanzi

    def fonts_used(self) -> list[str]:
        hanzi, latin = self._fonts
        return sorted({f.path for f in hanzi + latin})

    @property
    def two_row_inputs(self) -> bool:
        return any(t in TWO_ROW_TYPES for t in self.types)

    def sample_label(self, rng: np.random.Generator) -> str:
        return plate_number(self._type(rng), rng, self.all_class, self.suffix_prob)

    def _type(self, rng: np.random.Generator) -> str:
        p = np.asarray(self.type_weights, float)
        return self.types[int(rng.choice(len(self.types), p=p / p.sum()))]

    def render(self, label: str, rng: np.random.Generator) -> Image.Image:
        plate_type = self._type_of(label, rng)
        crop = self._as_crop(self._draw_plate(label, plate_type, rng), rng)
        if plate_type in TWO_ROW_TYPES and self.two_row_view == "stitched":
            crop = stitch_rows(crop)  # as a two-row reader sees it (`Preprocess.two_row`)
        return Image.fromarray(crop)

    def _type_of(self, label: str, rng: np.random.Generator) -> str:
        if len(label) == 8:  # a large vehicle's number (digits, then D/F) on its yellow-and-green plate
            large = label[2].isdigit() and label[-1] in "DF" and "green_large" in self.types
            return "green_large" if large else "green"
        if label[-1] == "警":
            return "white"
        if label[-1] in "港澳领使":
            return "black"
        if label[-1] == "学":
            return "yellow"
        # A plain 7-character number (or a trailer's): blue, yellow or two-row yellow, in the proportion of their
        # weights (the road has mostly blue).
        if label[-1] == "挂" and "yellow_double" not in self.types:
            return "yellow"
        kinds = ("yellow", "yellow_double") if label[-1] == "挂" else ("blue", "yellow", "yellow_double")
        plain = [(t, w) for t, w in zip(self.types, self.type_weights, strict=True) if t in kinds]
        if not plain:
            return "blue"
        p = np.asarray([w for _, w in plain], float)
        return plain[int(rng.choice(len(plain), p=p / p.sum()))][0]

    def _draw_plate(self, label: str, plate_type: str, rng: np.random.Generator) -> np.ndarray:
        glyphs = self.glyphs if self.glyphs != "mixed" else MIXED_GLYPHS[int(rng.integers(len(MIXED_GLYPHS)))]
        (width_mm, height_mm), boxes, dot = _layout(len(label), plate_type in TWO_ROW_TYPES)
        w, h = round(width_mm * PX_PER_MM), round(height_mm * PX_PER_MM)
        top, bottom, ink, frame = (np.array(c, np.float32) for c in PLATE_COLOURS[plate_type])
        strong = self.camera in ("detector", "mixed")
        jitter = rng.uniform(-18, 18, size=3) * (1.8 if strong else 1.0)  # paint, white balance
        ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        canvas = np.clip(top + (bottom - top) * ramp + jitter, 0, 255) * np.ones((1, w, 1), np.float32)
        if plate_type == "green_large":  # the province and letter on yellow, up to the middle of the wide gap
            yellow_top, yellow_bottom = (np.array(c, np.float32) for c in PLATE_COLOURS["yellow"][:2])
            split = round(dot[0] * PX_PER_MM)
            canvas[:, :split] = np.clip(yellow_top + (yellow_bottom - yellow_top) * ramp + jitter, 0, 255)
        image = Image.fromarray(canvas.astype(np.uint8))
        draw = ImageDraw.Draw(image)
        inset = round(rng.uniform(3, 6) * PX_PER_MM)
        draw.rounded_rectangle((inset, inset, w - inset, h - inset), radius=round(8 * PX_PER_MM),
                               outline=tuple(int(c) for c in frame), width=max(1, round(2.5 * PX_PER_MM)))
        for x_frac in (0.22, 0.78):  # rivets near the top edge
            cx, cy, r = x_frac * w, rng.uniform(9, 13) * PX_PER_MM, rng.uniform(3.5, 5) * PX_PER_MM
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in rng.integers(150, 220, 3)))
        hanzi, latin = self._fonts
        latin_font = latin[int(rng.integers(len(latin)))]
        hanzi_font = hanzi[int(rng.integers(len(hanzi)))]
        ga36, vector = glyphs == "ga36", glyphs == "vector"
        stroke = rng.uniform(0.09, 0.16) if ga36 or vector else 0.0  # one stroke weight per plate
        hanzi_stroke = rng.uniform(0.85, 1.15) * self.hanzi_stroke if self.hanzi_stroke > 0 else 0.0
        for i, (char, (x_mm, y_mm, w_mm, h_mm)) in enumerate(zip(label, boxes, strict=True)):
            cell_w, cell_h = round(w_mm * PX_PER_MM), round(h_mm * PX_PER_MM)
            is_hanzi = not char.isascii()
            if vector and not is_hanzi:
                mask = draw_glyph(char, cell_w, cell_h, stroke, rng)
            else:
                mask = _glyph(char, hanzi_font if is_hanzi else latin_font, cell_w, cell_h, stretch=is_hanzi,
                              ga36=ga36, rng=rng, stroke=stroke, hanzi_stroke=hanzi_stroke)
            x = round(x_mm * PX_PER_MM) + (cell_w - mask.width) // 2
            colour = (200, 20, 20) if char == "警" or (i == len(label) - 1 and plate_type == "white" and
                                                      not char.isascii()) else tuple(int(c) for c in ink)
            image.paste(Image.new("RGB", mask.size, colour), (x, round(y_mm * PX_PER_MM)), mask)
        dot_x, dot_y, r = dot[0] * PX_PER_MM, dot[1] * PX_PER_MM, 2.5 * PX_PER_MM * 2
        draw.ellipse((dot_x - r, dot_y - r, dot_x + r, dot_y + r), fill=tuple(int(c) for c in ink))
        return np.asarray(image)

    def _as_crop(self, plate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Put the plate on a car body, see it through a camera, crop it as a detector would, degrade, resize."""
        s = self.degrade
        h, w = plate.shape[:2]
        camera = self.camera if self.camera != "mixed" else MIXED_CAMERAS[int(rng.integers(len(MIXED_CAMERAS)))]
        plate = degrade.apply_some(plate, rng, [(0.4 * s, degrade.dirt), (0.3 * s, degrade.shadow)])
        varied = camera == "varied"
        pad_x, pad_y = (int(w * 0.35), int(h * 1.0)) if varied else (int(w * 0.12), int(h * 0.3))
        body = np.empty((h + 2 * pad_y, w + 2 * pad_x, 3), np.uint8)
        body[:] = CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))] + rng.integers(-20, 21, size=3)
        if varied:
            _holder(body, (pad_x, pad_y, w, h), rng)
        body = degrade.gaussian_noise(body, rng, 20)
        body[pad_y:pad_y + h, pad_x:pad_x + w] = plate
        src = np.float32([[pad_x, pad_y], [pad_x + w, pad_y], [pad_x + w, pad_y + h], [pad_x, pad_y + h]])
        if varied:
            dst, (out_w, out_h) = self._varied_corners(w, h, rng)
        else:  # `size` is a one-row plate's box; a two-row plate's box is as wide and as tall as its shape says
            out_w, out_h = self.size if w > 2.5 * h else (self.size[0], round(self.size[0] * h / w))
            dst = (self._detector_corners if camera == "detector" else self._loose_corners)(w, h, rng, (out_w, out_h))
        up = 2  # warp at 2x the output size, then shrink: the glyph edges stay anti-aliased
        matrix = cv2.getPerspectiveTransform(src, dst * up)
        crop = cv2.warpPerspective(body, matrix, (out_w * up, out_h * up), flags=cv2.INTER_AREA,
                                   borderMode=cv2.BORDER_REPLICATE)
        loose = camera == "loose"
        if self.bloom > 0:  # no draw at all when it is 0: the crops of earlier test sets stay as they were
            crop = degrade.apply_some(crop, rng, [(self.bloom * s, degrade.bloom)])
        crop = degrade.apply_some(crop, rng, [
            (0.3 * s * loose, lambda im, r: degrade.rotate_shear(im, r, max_deg=4, max_shear=0.1)),
            ((0.25 if loose else 0.15) * s, lambda im, r: degrade.motion_blur(im, r, max_len=7 if loose else 5)),
            ((0.2 if loose else 0.12) * s, lambda im, r: degrade.defocus_blur(im, r, max_radius=2.5 if loose else 1.8)),
        ])
        crop = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA)
        if self.isp > 0:  # as `bloom`: no draw when it is 0
            crop = degrade.apply_some(crop, rng, [(self.isp * s, degrade.camera_processing)])
        if self.soft > 0:  # as `bloom`
            crop = degrade.apply_some(crop, rng, [(self.soft * s, degrade.soften)])
        return degrade.apply_some(crop, rng, [
            ((0.3 if loose else 0.2) * s,
             lambda im, r: degrade.low_resolution(im, r, min_scale=0.45 if loose else 0.55)),
            (0.8 * s, degrade.lighting),
            ((0.25 if loose else 0.08) * s, degrade.haze),
            (0.4 * s, lambda im, r: degrade.gaussian_noise(im, r, 10)),
            (0.5 * s, lambda im, r: degrade.jpeg(im, r, 20 if loose else 30, 90 if loose else 95)),
        ])

    def _loose_corners(self, w: int, h: int, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        """Each plate corner placed in the output crop of `size`, loosely, by its own random offset."""
        s, (out_w, out_h) = self.degrade, size
        margin = rng.uniform(-0.03, 0.08, size=(4, 2)) * s * np.float32([out_w, out_h])
        dst = np.float32([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]])
        dst += margin * np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])  # > 0: background shows; < 0: clipped
        dst += rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * s * np.float32([0.04 * out_w, 0.06 * out_h])
        return dst

    def _detector_corners(self, w: int, h: int, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        """The plate turned and seen at an angle, inside the axis-aligned box a detector draws around it.

        Roll (tilt in the image) about N(0, 3.5) degrees, up to 10; yaw as one side taller by up to 12 %; a
        little shear; then the box around the plate's corners, with margins of -2..+6 % of its width and
        -4..+12 % of its height per side, is what gets resized to `size`. A detector's box is often tight at
        one end: a left or right side is cut 2 % to `cut_depth` of the width into the plate (through the rim into
        the first or last character) `cut_side` of the time.
        """
        corners, seen = self._seen_corners(w, h, rng)
        s, (out_w, out_h) = self.degrade, size
        margin = rng.uniform(-0.02, 0.06, (2, 2))  # (low/high side, x/y), a share of the seen width / 2 x height
        self._cut(margin, rng)
        margin = margin.astype(np.float32) * s * np.float32([seen[0], seen[1] * 2])
        lo, hi = corners.min(0) - margin[0], corners.max(0) + margin[1]
        return ((corners - lo) / (hi - lo) * np.float32([out_w, out_h])).astype(np.float32)

    def _cut(self, margin: np.ndarray, rng: np.random.Generator) -> None:
        """In place: the left and right margins (`margin[:, 0]`, shares of the width) cut 2 % to `cut_depth` into
        the plate, each `cut_side` of the time (no draw at all when it is 0)."""
        if self.cut_side > 0:
            cut = rng.random(2) < self.cut_side
            margin[cut, 0] = rng.uniform(-self.cut_depth, -0.02, int(cut.sum()))

    def _varied_corners(self, w: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
        """As `_detector_corners`, with each side's margin -3..+25 % of the plate's width (left, right; or cut
        into it as there) or -8..+75 % of its height (top, bottom), drawn as u^3 and u^4 so most are tight, and the
        plate 40-260 px wide:
        returns the corners and the crop's own (width, height)."""
        corners, _ = self._seen_corners(w, h, rng)
        s = self.degrade
        u = rng.random((2, 2)).astype(np.float32) ** np.float32([3, 4])  # (low/high side, x/y): mostly tight
        margin = np.float32([-0.03, -0.08]) + u * np.float32([0.28, 0.83])
        self._cut(margin, rng)
        margin = margin * s * np.float32([w, h])
        lo, hi = corners.min(0) - margin[0], corners.max(0) + margin[1]
        scale = np.exp(rng.uniform(np.log(40), np.log(260))) / w  # output px per plate px
        out_w, out_h = (max(8, round(float(v) * scale)) for v in hi - lo)
        return ((corners - lo) / (hi - lo) * np.float32([out_w, out_h])).astype(np.float32), (out_w, out_h)

    def _seen_corners(self, w: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The plate's four corners (centred) after roll, yaw and shear, and the plate's size before them."""
        s = self.degrade
        steep = self.tilt > 0 and rng.random() < self.tilt  # see `tilt`
        roll_sd, max_roll, max_yaw, max_shear = (9.0, 20.0, 0.25, 0.15) if steep else (3.5, 10.0, 0.12, 0.08)
        corners = np.float32([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        yaw = rng.uniform(-max_yaw, max_yaw) * s
        corners[:, 1] *= 1 + yaw * np.sign(corners[:, 0])  # the nearer side looks taller
        corners[:, 0] += corners[:, 1] * rng.uniform(-max_shear, max_shear) * s  # shear
        angle = np.deg2rad(np.clip(rng.normal(0, roll_sd), -max_roll, max_roll) * s)
        rotation = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = corners @ rotation.T
        return corners, corners.max(0) - corners.min(0)


def _holder(body: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """In place: half the time a plate holder (a dark, grey, chrome or gilt frame of 2-7 % of the plate's width)
    around the plate at `box` (x, y, w, h), and a bumper edge or grille bar above or below it."""
    x, y, w, h = box
    if rng.random() < 0.5:
        t = max(1, round(w * rng.uniform(0.02, 0.07)))
        colour = HOLDER_COLOURS[int(rng.integers(len(HOLDER_COLOURS)))] + rng.integers(-15, 16, size=3)
        body[max(0, y - t):y + h + t, max(0, x - t):x + w + t] = np.clip(colour, 0, 255)
    if rng.random() < 0.5:
        gap = int(rng.integers(h // 4, h))
        edge = max(0, y - gap) if rng.random() < 0.5 else min(body.shape[0] - 1, y + h + gap)
        thick = max(1, int(rng.integers(1, max(2, h // 5))))
        body[edge:edge + thick] = np.clip(body[edge:edge + thick].astype(np.int16) + rng.integers(-80, 81), 0, 255)
