"""Images from files: a folder per class, a single image, and MNIST-style digit preprocessing.

Pillow is imported only when one of these functions runs (``pip install "glassnet[data]"``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DatasetError, DatasetNotFoundError, SkippedFileWarning
from ._optional import require

__all__ = ["ImageFolder", "load_image", "load_image_folder", "mnist_preprocess"]

_MODES = {"grayscale": "L", "rgb": "RGB"}
# Errors Pillow raises for a file that is not a readable image. UnidentifiedImageError and
# truncated files are OSError; some decoders raise SyntaxError, ValueError or EOFError.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, SyntaxError, EOFError)


@dataclass(frozen=True, repr=False, eq=False)
class ImageFolder:
    """Images loaded from a folder with one sub-folder per class.

    Attributes
    ----------
    X : numpy.ndarray
        ``float32`` in [0, 1], shape ``(n, height, width)`` for grayscale or
        ``(n, height, width, 3)`` for RGB; with ``layout="nchw"`` channels first,
        ``(n, 1 or 3, height, width)``, for convolutional networks.
    y : numpy.ndarray
        ``int64`` class ids, shape ``(n,)``.
    class_names : tuple of str
        Sub-folder names, sorted; ``class_names[k]`` names class id ``k``.
    paths : tuple of pathlib.Path
        ``paths[i]`` is the file ``X[i]`` was read from.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    paths: tuple[Path, ...]

    def flat(self) -> np.ndarray:
        """``X`` as one row per image: ``float32`` ``(n, height * width * channels)``, a view."""
        return self.X.reshape(self.X.shape[0], -1)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return (
            f"ImageFolder(X={self.X.shape} {self.X.dtype}, y={self.y.shape}, "
            f"class_names={self.class_names})"
        )


def _check_args(size: Any, color: str) -> tuple[tuple[int, int] | None, str]:
    if color not in _MODES:
        raise DatasetError(f"Expected color='grayscale' or 'rgb', got color={color!r}.")
    if size is None:
        return None, _MODES[color]
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1 or tuple(size) != (height, width):
        raise DatasetError(
            f"Expected size=(height, width) with two positive integers, got size={size!r}."
        )
    return (height, width), _MODES[color]


def _decode(path: Path, size: tuple[int, int] | None, mode: str) -> np.ndarray:
    """Read one image as uint8 ``(h, w)`` (mode "L") or ``(h, w, 3)`` (mode "RGB")."""
    Image = require("PIL.Image", "Reading images")  # noqa: N806 - the module's usual name
    ImageOps = require("PIL.ImageOps", "Reading images")  # noqa: N806
    try:
        opened = Image.open(path)
    except Image.DecompressionBombError as error:  # not an OSError: report it like one
        raise ValueError(str(error)) from error
    with opened:
        image = ImageOps.exif_transpose(opened)  # phone photos store rotation in EXIF
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if has_alpha:  # transparent pixels become white paper, not black
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        image = image.convert(mode)
        if size is not None and image.size != (size[1], size[0]):
            # NOTE: Pillow sizes are (width, height); ours follow the array, (height, width).
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def load_image(
    path: str | os.PathLike, size: tuple[int, int] | None = None, color: str = "grayscale"
) -> np.ndarray:
    """Read one image file as float32 in [0, 1], e.g. for predicting on a user's photo.

    Parameters
    ----------
    path : str or path-like
        Any format Pillow reads (PNG, JPEG, BMP, GIF, ...). Transparency becomes white.
    size : (int, int), optional
        ``(height, width)`` to resize to (bilinear). Default: keep the file's size.
    color : {"grayscale", "rgb"}
        Convert to one channel or three.

    Returns
    -------
    image : numpy.ndarray
        ``float32`` in [0, 1], shape ``(height, width)`` or ``(height, width, 3)``.

    Raises
    ------
    DatasetNotFoundError
        If ``path`` does not exist.
    DatasetError
        If the file is not a readable image; the message names the file.
    """
    size, mode = _check_args(size, color)
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: expected an image file, got no such file.")
    try:
        pixels = _decode(path, size, mode)
    except _DECODE_ERRORS as error:
        raise DatasetError(f"{path}: expected an image Pillow can read, got: {error}") from error
    return np.multiply(pixels, np.float32(1 / 255), dtype=np.float32)


def _visible(entries: list[Path]) -> list[Path]:
    return sorted(p for p in entries if not p.name.startswith("."))


def _skip(path: Path, on_error: str, expected: str, got: str) -> None:
    """A file ``load_image_folder`` cannot use: one warning naming it, or the error."""
    if on_error == "raise":
        raise DatasetError(
            f"{path}: expected {expected}, got: {got}. Remove the file or pass "
            "on_error='warn' to skip unreadable files."
        )
    warnings.warn(f"Skipped {path}: not {expected} ({got}).", SkippedFileWarning, stacklevel=3)


def load_image_folder(
    root: str | os.PathLike,
    size: tuple[int, int] = (64, 64),
    color: str = "grayscale",
    on_error: str = "warn",
    layout: str | None = None,
    digits: bool = False,
) -> ImageFolder:
    """Load ``root/<class name>/<image files>`` into arrays; sorted folder names are classes.

    Every visible file in each class folder is read with Pillow, converted to ``color``,
    resized to ``size`` and scaled to [0, 1]. Hidden files and folders (name starting with
    ``.``) are ignored, as are folders nested inside class folders. With ``digits=True`` each
    image is instead read at its own size and made to look like an MNIST sample by
    :func:`mnist_preprocess` (inverted if light, cropped, scaled, centred in 28 x 28), exactly
    as ``prepare_images`` does for one image of a model whose recipe has ``mnist_centering``.

    Parameters
    ----------
    root : str or path-like
        Folder holding one sub-folder per class.
    size : (int, int)
        ``(height, width)`` every image is resized to (bilinear).
    color : {"grayscale", "rgb"}
        Convert to one channel or three.
    on_error : {"warn", "raise"}
        For a file that is not a readable image: skip it with one
        :class:`SkippedFileWarning` naming it, or raise :class:`DatasetError` naming it.
    layout : {None, "nchw"}
        None: ``X`` as decoded, ``(n, h, w)`` or ``(n, h, w, 3)``. "nchw": channels first,
        ``(n, 1, h, w)`` or ``(n, 3, h, w)``, as `Conv2D` takes them.
    digits : bool
        Handwritten digits: each image through :func:`mnist_preprocess`, so ``X`` is
        ``(n, 28, 28)`` and ``size`` is not used; ``color`` must be "grayscale". An image with
        no visible ink is treated like an unreadable file (see ``on_error``).

    Returns
    -------
    folder : ImageFolder
        ``X`` float32 ``(n, height, width)`` or ``(n, height, width, 3)``, ``y`` int64
        ``(n,)``, ``class_names`` and ``paths``; ``folder.flat()`` gives ``(n, h * w * c)``.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a folder.
    DatasetError
        If there are no class folders, a class folder has no readable image, or (with
        ``on_error="raise"``) a file is not a readable image.
    """
    size_hw, mode = _check_args(size, color)
    assert size_hw is not None
    if digits and mode != "L":
        raise DatasetError(
            f"digits=True makes MNIST-style grayscale digits, got color={color!r}. "
            "Pass color='grayscale'."
        )
    if on_error not in ("warn", "raise"):
        raise DatasetError(f"Expected on_error='warn' or 'raise', got on_error={on_error!r}.")
    if layout not in (None, "nchw"):
        raise DatasetError(f"Expected layout=None or 'nchw', got layout={layout!r}.")
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: expected a folder of class folders, got no folder.")
    class_dirs = [p for p in _visible(list(root.iterdir())) if p.is_dir()]
    if not class_dirs:
        raise DatasetError(
            f"{root}: expected one sub-folder per class (e.g. {root}/cats/, {root}/dogs/), got "
            "none. Move the images into a folder named after their class."
        )
    files, labels = [], []
    for k, folder in enumerate(class_dirs):
        in_class = [p for p in _visible(list(folder.iterdir())) if p.is_file()]
        if not in_class:
            raise DatasetError(
                f"{folder}: expected image files for class {folder.name!r}, got an empty "
                "folder. Add images or remove the folder."
            )
        files += in_class
        labels += [k] * len(in_class)

    # One decoded image per file (decoding is per file by nature); the arithmetic below is
    # done once on the whole stack.
    channels = (3,) if mode == "RGB" else ()
    if digits:  # each digit at its own size, then as MNIST: float32 (n, 28, 28) in [0, 1]
        pixels = np.empty((len(files), MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    else:
        pixels = np.empty((len(files), *size_hw, *channels), dtype=np.uint8)
    kept = np.zeros(len(files), dtype=bool)
    for i, path in enumerate(files):
        try:
            decoded = _decode(path, None if digits else size_hw, mode)
        except _DECODE_ERRORS as error:
            _skip(path, on_error, "a readable image", str(error))
            continue
        if not digits:
            pixels[i] = decoded
        else:
            try:
                pixels[i] = mnist_preprocess(decoded)
            except DatasetError as error:  # a blank page: no digit to centre
                _skip(path, on_error, "a digit with visible ink", str(error).rstrip("."))
                continue
        kept[i] = True
    y = np.asarray(labels, dtype=np.int64)[kept]
    per_class = np.bincount(y, minlength=len(class_dirs))
    if (per_class == 0).any():
        empty = [class_dirs[k].name for k in np.flatnonzero(per_class == 0)]
        raise DatasetError(
            f"{root}: expected at least one readable image per class, got none in {empty}; "
            "every file there was skipped (see the warnings)."
        )
    kept_pixels = pixels[kept]
    if layout == "nchw":  # (n, h, w) → (n, 1, h, w); (n, h, w, 3) → (n, 3, h, w)
        kept_pixels = kept_pixels[:, None] if mode != "RGB" else kept_pixels.transpose(0, 3, 1, 2)
    X = kept_pixels.astype(np.float32, order="C")  # a C-contiguous copy in either layout
    if not digits:  # mnist_preprocess gave [0, 1] already
        X *= np.float32(1 / 255)
    return ImageFolder(
        X=X,
        y=y,
        class_names=tuple(p.name for p in class_dirs),
        paths=tuple(p for p, ok in zip(files, kept, strict=True) if ok),
    )


MNIST_SIZE = 28  # output side
MNIST_BOX = 20  # the digit's larger side after scaling, as in LeCun's MNIST
_INK_THRESHOLD = 0.1  # after contrast stretching: pixels above this count as ink


def mnist_preprocess(image: np.ndarray) -> np.ndarray:
    """Make a digit image look like an MNIST sample: 28 x 28, white ink on black, centred.

    The steps follow how MNIST itself was made: (1) scale to [0, 1] and, if the background is
    light (mean > 0.5), invert so the ink is bright; (2) stretch contrast so the background
    (the median pixel, assuming ink covers less than half the image) is 0 and the brightest
    ink is 1; (3) crop to the bounding box of the ink (pixels > 0.1); (4) resize so the larger
    side is 20 px, keeping the aspect ratio; (5) paste into a 28 x 28 black image so that the
    centre of mass of the ink lands on pixel (14, 14) (row, column), rounded to whole pixels.

    Parameters
    ----------
    image : numpy.ndarray
        Shape ``(height, width)`` grayscale, or ``(height, width, 3|4)`` colour (converted to
        luminance); ``uint8`` 0..255 or float in [0, 1]; any size.

    Returns
    -------
    digit : numpy.ndarray
        ``float32`` in [0, 1], shape ``(28, 28)``; reshape to ``(1, 784)`` for a model.

    Raises
    ------
    DatasetError
        If the shape or value range is wrong, or the image has no ink (it is blank).
    """
    Image = require("PIL.Image", "mnist_preprocess")  # noqa: N806
    a = np.asarray(image)
    if a.dtype == np.uint8:
        x = np.multiply(a, np.float32(1 / 255), dtype=np.float32)
    elif a.dtype.kind == "f":
        x = a.astype(np.float32)
        if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
            raise DatasetError(
                f"mnist_preprocess expects float pixels in [0, 1], got min={np.nanmin(x):g} "
                f"max={np.nanmax(x):g}. Divide 0..255 images by 255 or pass them as uint8."
            )
    else:
        raise DatasetError(
            f"mnist_preprocess expects uint8 or float pixels, got dtype={a.dtype}. "
            "Use image.astype(np.uint8) for 0..255 values."
        )
    if x.ndim == 3 and x.shape[2] in (3, 4):
        x = x[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma
    if x.ndim != 2 or min(x.shape) < 1:
        raise DatasetError(
            f"mnist_preprocess expects one image of shape (height, width) or (height, width, 3),"
            f" got shape={a.shape}. Pass images one at a time."
        )

    if x.mean() > 0.5:  # dark ink on light paper -> bright ink on black, as in MNIST
        x = 1.0 - x
    background, brightest = float(np.median(x)), float(x.max())
    if brightest - background < 1e-2:
        raise DatasetError(
            "mnist_preprocess expects an image with a visible digit, got an image with no "
            f"contrast (background={background:.3f}, brightest={brightest:.3f})."
        )
    x = np.clip((x - background) / (brightest - background), 0.0, 1.0)

    ink = x > _INK_THRESHOLD
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.ascontiguousarray(x[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    h, w = crop.shape
    scale = MNIST_BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    # Pillow's bilinear filter widens with the scale factor when shrinking, so it averages
    # (anti-aliases) instead of skipping pixels. Mode "F" keeps float32 precision.
    small = Image.fromarray(crop.astype(np.float32)).resize(
        (new_w, new_h), Image.Resampling.BILINEAR
    )
    digit = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)  # (new_h, new_w)

    # Centre of mass (row, column) = sum(p * index) / sum(p), then shift it to (14, 14).
    mass = digit.sum()
    com_row = digit.sum(axis=1) @ np.arange(new_h, dtype=np.float32) / mass
    com_col = digit.sum(axis=0) @ np.arange(new_w, dtype=np.float32) / mass
    centre = MNIST_SIZE // 2
    top, left = round(centre - float(com_row)), round(centre - float(com_col))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    # Paste with clipping: a lopsided digit may stick out after centring, as in MNIST.
    r0, r1 = max(top, 0), min(top + new_h, MNIST_SIZE)
    c0, c1 = max(left, 0), min(left + new_w, MNIST_SIZE)
    out[r0:r1, c0:c1] = digit[r0 - top : r1 - top, c0 - left : c1 - left]
    return out
