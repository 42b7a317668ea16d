"""Atomic writes: a crash leaves either the old file or the new one in place, never a mixture.

`atomic_write` writes a temporary file ``.<name>.<pid>-<random>.tmp`` in the target's directory,
flushes and fsyncs it, renames it over the target with ``os.replace`` (atomic on POSIX and
Windows) and fsyncs the directory. The next write to the same path deletes the temporary files
left by crashed writes (`remove_stale_temporaries`: their process is gone, or they are older than
a day).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import BinaryIO

STALE_SECONDS = 24 * 3600


def atomic_write(path: str | os.PathLike[str], data: bytes | Callable[[BinaryIO], None]) -> None:
    """Write a file so that a crash leaves either the old content or the new one, never a mix.

    Parameters
    ----------
    path : str or path-like
        The target. Its directory must exist.
    data : bytes or callable
        The content, or a function that writes it to the binary file it receives.

    Notes
    -----
    The content goes to ``.<name>.<pid>-<random>.tmp`` beside the target, is flushed and fsynced,
    then renamed over the target (``os.replace``) and the directory is fsynced. On an error the
    temporary file is removed. Temporary files left for the same target by crashed writes are
    deleted first (see `remove_stale_temporaries`). Writers racing on one path each produce a
    complete file; the last rename wins. An existing target keeps its permission bits.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    remove_stale_temporaries(target)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        existing_mode: int | None = os.stat(target).st_mode & 0o7777
    except OSError:
        existing_mode = None
    with _LOCK:
        _WRITING.add(temporary)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        with os.fdopen(descriptor, "wb") as file:
            if existing_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), existing_mode)
            if callable(data):
                data(file)
            else:
                file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    finally:
        with _LOCK:
            _WRITING.discard(temporary)
    _fsync_directory(folder)


_O_BINARY = getattr(os, "O_BINARY", 0)
_LOCK = threading.Lock()
_WRITING: set[str] = set()  # temporary files this process is writing right now
_TEMPORARY = re.compile(r"(\d+)-[0-9a-f]{8}")


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Delete the temporary files that crashed `atomic_write` calls left for ``path``.

    A temporary file is stale when no running process is writing it: its process is gone (or is
    this one, which is not writing it), checked on POSIX; or it is more than a day old. Returns
    the paths removed.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    prefix, removed = f".{name}.", list[str]()
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        match = _TEMPORARY.fullmatch(entry[len(prefix) : -len(".tmp")])
        candidate = os.path.join(folder, entry)
        if match is None:
            continue  # not one of ours
        with _LOCK:
            if candidate in _WRITING:
                continue
        try:
            old = time.time() - os.stat(candidate).st_mtime > STALE_SECONDS
            if old or not _process_alive(int(match.group(1))):
                os.remove(candidate)
                removed.append(candidate)
        except OSError:
            continue  # already gone, or not ours to remove
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not writing it (checked by the caller): a crash leftover
    if os.name != "posix":
        return True  # unknown: leave it to the age rule
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to another user
    return True


def _fsync_directory(folder: str) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename itself is still atomic
    finally:
        os.close(descriptor)
