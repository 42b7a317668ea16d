"""Download one file, verified against a known hash, never leaving a partial file behind.

:func:`fetch_file` is the only place glassnet touches the network. It uses ``pooch``, which
streams the download to a temporary file in the destination folder, checks its hash and only
then renames it into place; on any failure the temporary file is deleted.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from urllib.parse import urlsplit

from ._errors import ChecksumError, DatasetError, DownloadError
from ._optional import require

__all__ = ["fetch_file"]


def _tqdm_available() -> bool:
    """Pooch draws its progress bar with tqdm, an optional package; use it only if present."""
    return importlib.util.find_spec("tqdm") is not None


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the ones created, deepest first."""
    created = []
    here = folder
    while not here.exists():
        created.append(here)
        here = here.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first: stop at the first one that is not empty
        try:
            folder.rmdir()
        except OSError:
            break


def fetch_file(
    url: str,
    known_hash: str,
    dest_dir: str | os.PathLike,
    fname: str | None = None,
    *,
    progressbar: bool | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` into ``dest_dir`` and verify it; return the local path.

    If the file is already there with the right hash nothing is downloaded. On a network
    error, an HTTP error, a connection dropped mid-file or a hash mismatch, nothing is left on
    disk: no partial file, and no folder that this call created.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` address of the file.
    known_hash : str
        The expected hash in pooch's notation: ``"sha256:<hex>"``, ``"md5:<hex>"`` or a bare
        SHA-256 hex digest. Required: glassnet never keeps an unverified download.
    dest_dir : str or path-like
        Folder to put the file in; created if missing.
    fname : str, optional
        Local file name. Default: the last part of the URL.
    progressbar : bool, optional
        Show a progress bar. Default: only if ``tqdm`` is installed.
    timeout : float
        Seconds to wait for the server to connect or send data.

    Returns
    -------
    path : pathlib.Path
        ``dest_dir / fname``, complete and verified.

    Raises
    ------
    ChecksumError
        If the downloaded file's hash differs from ``known_hash``.
    DownloadError
        If the server cannot be reached, answers with an HTTP error, or drops the
        connection before the file is complete.
    ImportError
        If pooch is not installed (``pip install "glassnet[data]"``).
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise DatasetError(
            f"fetch_file expects an http:// or https:// URL, got url={url!r}. "
            "For a local file, copy it into the data folder instead."
        )
    if not known_hash:
        raise DatasetError(
            f"fetch_file expects a known hash such as 'sha256:<hex>' for {url}, got "
            f"known_hash={known_hash!r}. Unverified downloads are not kept."
        )
    pooch = require("pooch", "Downloading data sets")
    fname = fname or Path(urlsplit(url).path).name
    dest = Path(dest_dir).expanduser()
    if progressbar is None:
        progressbar = _tqdm_available()

    created = _make_dirs(dest)
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)
    try:
        path = pooch.retrieve(
            url, known_hash=known_hash, fname=fname, path=dest, downloader=downloader
        )
    except OSError as error:  # requests' errors subclass OSError (IOError)
        _remove_if_empty(created)
        raise DownloadError(
            f"Downloading {url} failed: {error}. Check the network connection or try another "
            "mirror; no partial file was kept."
        ) from error
    except ValueError as error:  # pooch reports a hash mismatch as ValueError
        _remove_if_empty(created)
        raise ChecksumError(
            f"Downloading {url}: expected a file with hash {known_hash}, got one with a "
            f"different hash ({error}) The mirror may serve a damaged or different file: try "
            "another mirror."
        ) from error
    return Path(path)
