"""Atomic file writing, shared by model saving (core.persistence) and every export in the GUI.

A file is written to a temporary name in the same folder and moved over the target with
``os.replace`` only when it is complete: an interrupted or failed write leaves the old file intact
and no temporary file behind.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_text_atomic"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary path next to ``path`` (same suffix, so format-by-extension writers work).

    On success the temporary file replaces ``path`` (keeping the old file's permissions, or the
    umask's for a new file); on any exception it is deleted and ``path`` is untouched. ``OSError``s
    about the temporary file are re-raised naming ``path``, the file the user chose.
    """
    path = Path(path)
    tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    done = False
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename) == tmp:
                raise OSError(exc.errno, exc.strerror, str(path)) from exc
            raise
        try:
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        except OSError:
            pass
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
