"""Exceptions and warnings raised by :mod:`glassnet.datasets`.

Every error subclasses a standard type (``ValueError`` or ``FileNotFoundError``) so callers can
catch either the glassnet class or the built-in one. Messages follow one template: what was
expected, what was received, and the likely fix.
"""

from __future__ import annotations

from ..errors import DataError

__all__ = [
    "ChecksumError",
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "IDXFormatError",
    "SkippedFileWarning",
]


class DatasetError(DataError):
    """A data file or an argument describing data is not what the loader expects."""


class IDXFormatError(DatasetError):
    """An IDX file (the MNIST format) is malformed: bad magic number, sizes or payload length."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A data set is in none of the places looked, and could not be downloaded."""


class DownloadError(DatasetError):
    """A download failed: network error, HTTP error or a connection dropped mid-file."""


class ChecksumError(DownloadError):
    """A downloaded file's hash differs from the known one; the file was not kept."""


class SkippedFileWarning(UserWarning):
    """A file was skipped while loading a folder because it could not be read."""
