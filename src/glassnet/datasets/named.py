"""Named image data sets in IDX format: MNIST and Fashion-MNIST.

Where the files are looked for, in order (the first folder holding both files of the split
wins; each file may be gzipped or not):

1. the ``data_dir`` argument: ``data_dir/<name>/`` then ``data_dir/``;
2. the ``GLASSNET_DATA`` environment variable: ``$GLASSNET_DATA/<name>/`` then
   ``$GLASSNET_DATA/`` (several folders may be given, separated by ``os.pathsep``);
3. the user cache: ``platformdirs.user_cache_dir("glassnet")/<name>/``;
4. system folders, e.g. ``/usr/share/datasets/fashion-mnist/`` from the Debian package
   ``dataset-fashion-mnist``.

If none has the files and ``download=True``, they are downloaded (with a verified hash) into
the user cache: ``data_dir`` is where to look, never a download target unless it is passed to
:func:`download` itself.

NOTE: MNIST and Fashion-MNIST use the same file names, so what a folder holds is checked once
read: a file whose hash is the other data set's, or images whose mean brightness is the other
data set's (MNIST's digits cover about 13% of the image, Fashion-MNIST's clothes about 29%),
raise a DatasetError saying which data set was found.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._errors import DatasetError, DatasetNotFoundError, DownloadError
from ._optional import INSTALL_HINT, require
from .fetch import fetch_file
from .idx import read_idx

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "Dataset",
    "DatasetSpec",
    "download",
    "find",
    "load",
    "load_fashion_mnist",
    "load_mnist",
    "user_cache_dir",
]

_MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, download and label one named IDX data set.

    Parameters
    ----------
    name : str
        Short name, also the sub-folder name in data folders, e.g. ``"mnist"``.
    title : str
        Name for messages, e.g. ``"MNIST"``.
    class_names : tuple of str
        Name of each class id, in order.
    files : mapping of str to str
        File name -> known hash in pooch notation (``"sha256:<hex>"``), for every file.
    mirrors : tuple of str
        Base URLs tried in order; a file's URL is ``mirror + file name``.
    splits : mapping of str to (str, str)
        Split name -> (images file, labels file).
    system_dirs : tuple of str
        Folders where an operating-system package installs the files.
    system_package : str or None
        Name of that package, for the "how to get the data" hint.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    files: Mapping[str, str]
    mirrors: tuple[str, ...]
    splits: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(_MNIST_SPLITS))
    system_dirs: tuple[str, ...] = ()
    system_package: str | None = None


# SHA-256 of the files as served by the mirrors (the same bytes as LeCun's original site).
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(d) for d in range(10)),
    files={
        "train-images-idx3-ubyte.gz": (
            "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    system_dirs=("/usr/share/datasets/mnist",),
)

# SHA-256 of Zalando's files. NOTE: Debian's dataset-fashion-mnist recompresses them, so its
# .gz files hash differently; files found on disk are checked by format, not by hash.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    files={
        "train-images-idx3-ubyte.gz": (
            "sha256:3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256:a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256:346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256:67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
        ),
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
)

#: Named data sets known to :func:`load` and :func:`download`.
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


@dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """One split of a named image data set.

    Attributes
    ----------
    images : numpy.ndarray
        ``uint8``, shape ``(n, height, width)``, e.g. ``(60000, 28, 28)``; 0 is background.
    labels : numpy.ndarray
        ``int64``, shape ``(n,)``, class ids in ``0 .. len(class_names) - 1``.
    class_names : tuple of str
        ``class_names[k]`` names class id ``k``.
    name : str
        Data set name, e.g. ``"fashion-mnist"``.
    split : str
        ``"train"`` or ``"test"``.
    source_path : pathlib.Path
        Folder the files were read from.
    layout : {"flat", "nchw"}
        The shape of ``X``: one row per image for MLPs, or ``(n, 1, height, width)`` (channels
        first) for convolutional networks.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    name: str
    split: str
    source_path: Path
    layout: str = "flat"

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the conventional name for a design matrix
        """Images scaled to [0, 1], ``float32``: shape ``(n, height * width)`` for the "flat"
        layout, ``(n, 1, height, width)`` for "nchw".

        Computed on each access (``images / 255``); keep the result if you use it twice.
        """
        n, height, width = self.images.shape
        shape = (n, -1) if self.layout == "flat" else (n, 1, height, width)
        return np.multiply(self.images.reshape(shape), np.float32(1 / 255), dtype=np.float32)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, images={self.images.shape} "
            f"{self.images.dtype}, labels={self.labels.shape} {self.labels.dtype}, "
            f"classes={len(self.class_names)}, source_path='{self.source_path}')"
        )


def user_cache_dir() -> Path | None:
    """The per-user cache folder for glassnet, or None if ``platformdirs`` is not installed."""
    try:
        import platformdirs
    except ImportError:
        return None
    return Path(platformdirs.user_cache_dir("glassnet"))


def _spec(name: str | DatasetSpec) -> DatasetSpec:
    if isinstance(name, DatasetSpec):
        return name
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise DatasetError(
            f"Expected a data set name among {sorted(DATASETS)}, got name={name!r}. "
            "For other data use load_csv, load_image_folder or read_idx."
        )
    return DATASETS[key]


def _split_files(spec: DatasetSpec, split: str) -> tuple[str, str]:
    if split not in spec.splits:
        raise DatasetError(f"{spec.title} has splits {sorted(spec.splits)}, got split={split!r}.")
    return spec.splits[split]


def _candidate_dirs(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> list[Path]:
    """Folders to look in, in priority order (see the module docstring)."""
    folders: list[Path] = []
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        folders += [root / spec.name, root]
    for entry in os.environ.get("GLASSNET_DATA", "").split(os.pathsep):
        if entry.strip():
            root = Path(entry.strip()).expanduser()
            folders += [root / spec.name, root]
    cache = user_cache_dir()
    if cache is not None:
        folders.append(cache / spec.name)
    folders += [Path(d) for d in spec.system_dirs]
    return folders


def _existing(folder: Path, file_name: str) -> Path | None:
    """``folder/file_name``, or the same name without ``.gz``, if either is a file."""
    for candidate in (file_name, file_name.removesuffix(".gz")):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _find(
    spec: DatasetSpec, file_names: Sequence[str], data_dir: str | os.PathLike | None
) -> tuple[list[Path] | None, list[Path]]:
    """Return (paths of all ``file_names`` in the first folder that has them all, folders)."""
    folders = _candidate_dirs(spec, data_dir)
    for folder in folders:
        paths = [_existing(folder, f) for f in file_names]
        if all(p is not None for p in paths):
            return paths, folders  # type: ignore[return-value]
    return None, folders


def _download_dir(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser() / spec.name
    cache = user_cache_dir()
    if cache is None:
        require("platformdirs", "Finding the user cache folder to download into")
    return cache / spec.name  # type: ignore[operator]


def _fetch(
    spec: DatasetSpec,
    file_names: Sequence[str],
    dest: Path,
    mirrors: Sequence[str] | None,
    progressbar: bool | None,
) -> list[Path]:
    """Download each file, trying the mirrors in order; DownloadError lists every failure."""
    if isinstance(mirrors, str):  # one URL, not a sequence of one-character "mirrors"
        mirrors = (mirrors,)
    bases = tuple(mirrors) if mirrors is not None else spec.mirrors
    if not bases:
        raise DownloadError(f"{spec.title}: no mirror to download from (mirrors is empty).")
    paths = []
    for file_name in file_names:
        if file_name not in spec.files:
            raise DatasetError(
                f"{spec.title}: expected a known hash for {file_name} in DatasetSpec.files, got "
                f"none (files has {sorted(spec.files)}). Add 'sha256:<hex>' for it."
            )
        failures = []
        for base in bases:
            url = base if base.endswith("/") else base + "/"
            try:
                paths.append(
                    fetch_file(
                        url + file_name, spec.files[file_name], dest, progressbar=progressbar
                    )
                )
                break
            except DownloadError as error:
                failures.append(str(error))
        else:
            raise DownloadError(
                f"{spec.title}: could not download {file_name} from any of {len(bases)} "
                "mirror(s):\n  " + "\n  ".join(failures)
            )
    return paths


def _not_found(
    spec: DatasetSpec, file_names: Sequence[str], folders: Sequence[Path], why: str
) -> DatasetNotFoundError:
    looked = "\n".join(f"  - {folder}" for folder in folders)
    if not os.environ.get("GLASSNET_DATA", "").strip():
        looked += "\n  - $GLASSNET_DATA: not set"
    if user_cache_dir() is None:
        looked += f"\n  - user cache: skipped, platformdirs is not installed ({INSTALL_HINT})"
    hints = []
    if spec.system_package:
        hints.append(f"sudo apt-get install {spec.system_package}   (Debian/Ubuntu)")
    hints += [
        f"glassnet download {spec.name}   (or glassnet.datasets.download({spec.name!r}))",
        f"put the files in a folder and set GLASSNET_DATA to it (or to its parent holding "
        f"{spec.name}/), or pass data_dir=",
    ]
    wanted = " and ".join(f"{f} (or {f.removesuffix('.gz')})" for f in file_names)
    return DatasetNotFoundError(
        f"{spec.title}: expected {wanted} in one folder, found them in none of these:\n"
        f"{looked}\n{why}\nTo get the data, any of:\n" + "\n".join(f"  * {h}" for h in hints)
    )


LAYOUTS = ("flat", "nchw")


def _check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise DatasetError(
            f"Expected layout='flat' (one row per image, for MLPs) or 'nchw' ((n, 1, height, "
            f"width), for CNNs), got layout={layout!r}."
        )
    return layout


def _read_split(
    spec: DatasetSpec, split: str, image_path: Path, label_path: Path, layout: str = "flat"
) -> Dataset:
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{image_path}: expected uint8 images of shape (n, height, width), got "
            f"shape={images.shape} dtype={images.dtype}. Is this a labels file?"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DatasetError(
            f"{label_path}: expected {images.shape[0]} labels (one per image in "
            f"{image_path.name}), got shape={labels.shape}. The two files do not belong together."
        )
    _check_identity(spec, image_path, images)
    labels = labels.astype(np.int64)
    if labels.size and labels.max() >= len(spec.class_names):
        raise DatasetError(
            f"{label_path}: expected class ids below {len(spec.class_names)}, got "
            f"max={labels.max()}. This is not a {spec.title} labels file."
        )
    return Dataset(
        images=images,
        labels=labels,
        class_names=tuple(spec.class_names),
        name=spec.name,
        split=split,
        source_path=image_path.parent,
        layout=layout,
    )


#: Mean pixel value (0..1) of each data set's images: MNIST 0.13, Fashion-MNIST 0.29, either
#: split. Images are taken as the other data set's beyond the midpoint.
MEAN_BRIGHTNESS = {"mnist": 0.131, "fashion-mnist": 0.286}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _check_identity(spec: DatasetSpec, image_path: Path, images: np.ndarray) -> None:
    """Raise DatasetError if ``images`` from ``image_path`` are the other named data set's."""
    others = [other for other in DATASETS.values() if other.name != spec.name]
    known = {other.files.get(image_path.name): other for other in others}
    known.pop(None, None)
    if known and image_path.suffix == ".gz":
        found = known.get(_sha256(image_path))
        if found is not None:
            raise DatasetError(_wrong_data(spec, found, image_path, "its checksum"))
    if spec.name not in MEAN_BRIGHTNESS or not images.size:
        return
    mean = float(images[:2000].mean(dtype=np.float64)) / 255
    for other in others:
        if other.name not in MEAN_BRIGHTNESS:
            continue
        mine, theirs = MEAN_BRIGHTNESS[spec.name], MEAN_BRIGHTNESS[other.name]
        if abs(mean - theirs) < abs(mean - mine) and abs(mean - theirs) < 0.05:
            raise DatasetError(
                _wrong_data(spec, other, image_path, f"its mean brightness {mean:.2f}")
            )


def _wrong_data(spec: DatasetSpec, found: DatasetSpec, path: Path, evidence: str) -> str:
    return (
        f"{path} holds {found.title}, not {spec.title} ({evidence} is {found.title}'s): both use "
        f"the same file names. Put each in its own folder ({found.name}/ and {spec.name}/ under "
        f"the data folder), or ask for {found.name!r}."
    )


def load(
    name: str | DatasetSpec,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progressbar: bool | None = None,
    layout: str = "flat",
) -> Dataset:
    """Load one split of a named data set, finding it on disk or downloading it.

    Parameters
    ----------
    name : str or DatasetSpec
        ``"mnist"`` or ``"fashion-mnist"``, or a :class:`DatasetSpec` for another IDX data set.
    split : str
        ``"train"`` or ``"test"``.
    data_dir : str or path-like, optional
        Folder looked in first (``data_dir/<name>/``, then ``data_dir/``). Never written to:
        downloads go to the user cache (use :func:`download` to fill a folder of your own).
        Default: only the standard places (see the module docstring).
    download : bool
        Download the files if they are found nowhere.
    mirrors : sequence of str, optional
        Base URLs to download from, tried in order. Default: the data set's own mirrors.
    progressbar : bool, optional
        Show a download progress bar. Default: only if ``tqdm`` is installed.
    layout : {"flat", "nchw"}
        The shape of ``dataset.X``: ``(n, 784)`` for MLPs or ``(n, 1, 28, 28)`` for CNNs.

    Returns
    -------
    dataset : Dataset
        ``images`` uint8 ``(n, 28, 28)``, ``labels`` int64 ``(n,)``; ``dataset.X`` gives
        float32 ``(n, 784)`` (or ``(n, 1, 28, 28)``) in [0, 1].

    Raises
    ------
    DatasetNotFoundError
        If the files are in none of the places looked and were not downloaded. The message
        lists every folder looked in and how to get the data.
    IDXFormatError
        If a file found is damaged.
    DatasetError
        If the files found hold the other named data set (same file names; see the module
        docstring).
    """
    spec = _spec(name)
    _check_layout(layout)
    file_names = _split_files(spec, split)
    paths, folders = _find(spec, file_names, data_dir)
    if paths is None:
        if not download:
            raise _not_found(
                spec, file_names, folders, "Download was not attempted (download=False)."
            )
        try:
            # Into the user cache: data_dir is where to look, not a place to write unasked.
            paths = _fetch(spec, file_names, _download_dir(spec, None), mirrors, progressbar)
        except DownloadError as error:
            raise _not_found(spec, file_names, folders, f"Download failed: {error}") from error
    return _read_split(spec, split, paths[0], paths[1], layout)


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progressbar: bool | None = None,
    layout: str = "flat",
) -> Dataset:
    """Load MNIST handwritten digits: 60,000 train or 10,000 test 28 x 28 images, classes 0-9.

    Same parameters as :func:`load`.

    Examples
    --------
    >>> train = load_mnist("train")  # doctest: +SKIP
    >>> train.images.shape, train.X.shape, train.class_names[:3]  # doctest: +SKIP
    ((60000, 28, 28), (60000, 784), ('0', '1', '2'))
    """
    return load(
        MNIST, split, data_dir, download, mirrors=mirrors, progressbar=progressbar, layout=layout
    )


def load_fashion_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progressbar: bool | None = None,
    layout: str = "flat",
) -> Dataset:
    """Load Fashion-MNIST: 60,000 train or 10,000 test 28 x 28 images of 10 clothing types.

    Same parameters as :func:`load`. On Debian/Ubuntu ``apt-get install
    dataset-fashion-mnist`` provides the files without a download.

    Examples
    --------
    >>> test = load_fashion_mnist("test")  # doctest: +SKIP
    >>> test.images.shape, test.class_names[0]  # doctest: +SKIP
    ((10000, 28, 28), 'T-shirt/top')
    """
    return load(
        FASHION_MNIST,
        split,
        data_dir,
        download,
        mirrors=mirrors,
        progressbar=progressbar,
        layout=layout,
    )


def find(name: str | DatasetSpec, data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder on disk holding every file of a named data set (both splits), or None.

    Looked for as :func:`load` does, e.g. Debian's ``/usr/share/datasets/fashion-mnist``.
    """
    spec = _spec(name)
    for folder in _candidate_dirs(spec, data_dir):
        if all(_existing(folder, f) is not None for f in spec.files):
            return folder
    return None


def download(
    name: str | DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progressbar: bool | None = None,
) -> Path:
    """Download every file of a named data set (all splits); return the folder holding them.

    Files go to ``data_dir/<name>/`` (default: the user cache). Files already there with
    the right hash are not downloaded again. This is what ``glassnet download NAME`` runs.

    Raises
    ------
    DownloadError
        If a file could not be downloaded from any mirror (ChecksumError for a hash mismatch).
    """
    spec = _spec(name)
    dest = _download_dir(spec, data_dir)
    _fetch(spec, list(spec.files), dest, mirrors, progressbar)
    return dest
