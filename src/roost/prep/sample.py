"""A built-in sample data set that roost draws itself: no downloads, no borrowed photos.

Four "species" after the workshop's NABirds sample, one folder each: little drawn birds with the
colours of a Northern Cardinal, an American Goldfinch, an Eastern Bluebird and a Purple Martin. Like
real photos, and unlike a toy set that a network learns perfectly in a few epochs, they are not easy:
females and young birds are duller and look alike, berries and flowers in the males' colours clutter the
scene, leaves hide parts of the bird, the bird may be small, cut by the frame or out of focus, and the
light tints everything. Accuracy climbs over the epochs and stays short of 1.0, as on the workshop's
photos (about 0.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

BGR = tuple[int, int, int]


@dataclass(frozen=True)
class Plumage:
    head: BGR
    back: BGR
    breast: BGR
    wing: BGR
    beak: BGR
    crest: bool = False
    mask: bool = False


SPECIES: dict[str, Plumage] = {
    "Northern_Cardinal": Plumage(
        (40, 30, 200), (40, 30, 170), (50, 40, 215), (30, 25, 130), (60, 140, 240), True, True
    ),
    "American_Goldfinch": Plumage(
        (20, 20, 20), (20, 210, 235), (40, 225, 245), (15, 15, 15), (130, 160, 230)
    ),
    "Eastern_Bluebird": Plumage((190, 110, 40), (180, 100, 40), (50, 110, 210), (170, 90, 30), (30, 30, 30)),
    "Purple_Martin": Plumage((110, 40, 70), (100, 35, 60), (105, 40, 65), (40, 20, 30), (20, 20, 20)),
}
CLASSES = tuple(SPECIES)


def _jitter(colour: BGR, rng: np.random.Generator, amount: float) -> BGR:
    scale = rng.uniform(1 - amount, 1 + amount)
    return tuple(int(np.clip(c * scale + rng.normal(0, 12), 0, 255)) for c in colour)  # type: ignore[return-value]


# Females and young birds: the male's colours washed towards one grey-brown, which all four share.
_DULL: BGR = (95, 115, 130)
_DULL_SHARE = 0.4


def _dulled(look: Plumage, rng: np.random.Generator) -> Plumage:
    amount = rng.uniform(0.45, 0.75)

    def wash(colour: BGR) -> BGR:
        return tuple(int(c + (d - c) * amount) for c, d in zip(colour, _DULL, strict=True))  # type: ignore[return-value]

    return Plumage(
        wash(look.head), wash(look.back), wash(look.breast), wash(look.wing), look.beak, look.crest, False
    )


# Berries and flowers in the males' colours, so that colour alone does not tell the species.
_CLUTTER: tuple[BGR, ...] = ((40, 30, 200), (30, 210, 235), (190, 110, 40), (110, 40, 70), (240, 240, 240))
_FOLIAGE: tuple[BGR, ...] = ((60, 140, 70), (40, 100, 50), (50, 90, 110), (70, 160, 120))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    scenes = (  # (top, bottom) colours: sky, foliage, dusk, bark and ground
        ([235, 200, 150], [250, 230, 200]),
        ([60, 140, 70], [40, 100, 50]),
        ([150, 120, 190], [80, 140, 230]),
        ([60, 90, 120], [90, 120, 140]),
    )
    top, bottom = (np.array(c, np.float32) * rng.uniform(0.7, 1.1) for c in scenes[rng.integers(len(scenes))])
    image = top + (bottom - top) * (y[..., None] * 0.8 + x[..., None] * 0.2)
    image += rng.normal(0, 9, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 9))):
        _leaf(image, rng.uniform(0, size, 2), rng.uniform(0.04, 0.14, 2) * size, rng)
    for _ in range(int(rng.integers(0, 7))):  # berries and flowers
        centre = rng.uniform(0, size, 2)
        radius = max(1, round(rng.uniform(0.015, 0.05) * size))
        colour = _jitter(_CLUTTER[rng.integers(len(_CLUTTER))], rng, 0.15)
        cv2.circle(image, (round(centre[0]), round(centre[1])), radius, colour, -1, cv2.LINE_AA)
    return image


def _leaf(image: np.ndarray, centre: np.ndarray, axes: np.ndarray, rng: np.random.Generator) -> None:
    colour = _jitter(_FOLIAGE[rng.integers(len(_FOLIAGE))], rng, 0.2)
    _ellipse(image, centre, (float(axes[0]), float(axes[1])), rng.uniform(0, 180), colour)


def _occlude(image: np.ndarray, centre: np.ndarray, scale: float, rng: np.random.Generator) -> None:
    """Leaves in front of the bird, hiding part of it."""
    for _ in range(int(rng.integers(1, 4))):
        _leaf(
            image, centre + rng.normal(0, scale * 0.7, 2), scale * rng.uniform((0.3, 0.15), (0.7, 0.35)), rng
        )


def _photographed(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The camera's part: a tint of the light, exposure, and now and then a blur."""
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.6))
    tint = rng.uniform(0.8, 1.2, 3) * rng.uniform(0.7, 1.15)
    lit = image.astype(np.float32) * tint + rng.uniform(-20, 20)
    return np.clip(lit, 0, 255).astype(np.uint8)


def _ellipse(
    image: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle: float, colour: BGR
) -> None:
    centre_px = (round(centre[0]), round(centre[1]))
    axes_px = (max(1, round(axes[0])), max(1, round(axes[1])))
    cv2.ellipse(image, centre_px, axes_px, angle, 0, 360, colour, -1, cv2.LINE_AA)


def draw(species: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One BGR picture of a bird of `species`."""
    look = SPECIES[species]
    if rng.random() < _DULL_SHARE:
        look = _dulled(look, rng)
    image = _background(rng, size)
    scale = rng.uniform(0.14, 0.36) * size
    centre = np.array([rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.7)]) * size
    tilt = rng.uniform(-25, 25)
    facing = 1 if rng.random() < 0.5 else -1
    along = np.array([math.cos(math.radians(tilt)), math.sin(math.radians(tilt))]) * facing
    # branch under the bird
    branch_y = int(centre[1] + scale * 0.8)
    cv2.line(
        image, (0, branch_y + int(rng.integers(-4, 4))), (size, branch_y), (40, 70, 110), max(2, size // 20)
    )
    # tail, body, breast, wing, head, crest, beak, eye
    tail = [centre - along * scale * 1.5 + np.array([0, d * scale * 0.25]) for d in (-1, 1)]
    cv2.fillPoly(
        image,
        [np.round([centre - along * scale * 0.6, *tail]).astype(np.int32)],
        _jitter(look.wing, rng, 0.15),
    )
    _ellipse(image, centre, (scale, scale * 0.62), tilt, _jitter(look.back, rng, 0.15))
    _ellipse(
        image,
        centre + along * scale * 0.25 + np.array([0, scale * 0.2]),
        (scale * 0.6, scale * 0.4),
        tilt,
        _jitter(look.breast, rng, 0.15),
    )
    _ellipse(
        image,
        centre - along * scale * 0.15 - np.array([0, scale * 0.1]),
        (scale * 0.65, scale * 0.3),
        tilt,
        _jitter(look.wing, rng, 0.15),
    )
    head = centre + along * scale * 0.9 - np.array([0, scale * 0.45])
    if look.crest:
        tip = head - along * scale * 0.35 - np.array([0, scale * 0.7])
        cv2.fillPoly(
            image,
            [np.round([head - np.array([0, scale * 0.2]), tip, head - along * scale * 0.4]).astype(np.int32)],
            _jitter(look.head, rng, 0.15),
        )
    _ellipse(image, head, (scale * 0.42, scale * 0.42), 0, _jitter(look.head, rng, 0.15))
    if look.mask:
        _ellipse(image, head + along * scale * 0.2, (scale * 0.2, scale * 0.18), 0, (20, 20, 20))
    beak = [head + along * scale * 0.35 + np.array([0, d * scale * 0.12]) for d in (-1, 1)]
    cv2.fillPoly(
        image, [np.round([head + along * scale * 0.75, *beak]).astype(np.int32)], _jitter(look.beak, rng, 0.1)
    )
    eye = head + along * scale * 0.15 - np.array([0, scale * 0.08])
    cv2.circle(
        image, (round(eye[0]), round(eye[1])), max(1, round(scale * 0.07)), (10, 10, 10), -1, cv2.LINE_AA
    )
    if rng.random() < 0.5:
        _occlude(image, centre, scale, rng)
    return _photographed(image, rng)


def write_sample(folder: Path, per_class: int = 100, size: int = 64, seed: int = 7) -> dict[str, int]:
    """Species folders of JPEG photos under `folder`; returns the count per species."""
    rng = np.random.default_rng(seed)
    for species in CLASSES:
        target = folder / species
        target.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(
                str(target / f"{i:04d}.jpg"), draw(species, rng, size), [cv2.IMWRITE_JPEG_QUALITY, 92]
            )
    return dict.fromkeys(CLASSES, per_class)
