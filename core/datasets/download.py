"""Downloading catalog data sets into the cache: streamed, checksummed, atomic, cancellable.

Conventions
-----------
* Only the standard library (``urllib``) talks to the network. Each file streams into
  ``<final name>.part`` in the cache folder; only after its size and md5 match the catalog is
  it renamed (``os.replace``) to the final name. On any failure or cancel the ``.part`` file
  is deleted, so the cache never holds a partial or wrong file under a real name, and
  calling :func:`download` again simply retries.
* ``timeout`` (seconds) applies to connecting and to every read: a stalled server fails
  after that long instead of hanging.
* ``progress(done_bytes, total_bytes, "12.3 MB of 170 MB at 4.1 MB/s")``; ``cancel()`` is
  polled between reads *and* from a small helper thread that closes the connection, so a
  cancel during a stall takes effect within about 0.1 s (``cancel`` must be thread-safe;
  reading a flag is).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from core.datasets._base import DatasetError
from core.datasets.catalog import dataset_dir, get_entry
from core.progress import Cancelled, check_cancel, report

__all__ = ["download", "DownloadError", "file_md5"]

_CHUNK = 64 * 1024
_USER_AGENT = "linear-classifier-lab/0.1 (+urllib)"


class DownloadError(DatasetError):
    """A download failed; the message names the URL and how to install the file by hand."""


def file_md5(path, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n < 100e6 else f"{n / 1e6:.0f} MB"


class _CancelWatcher:
    """Polls ``cancel`` in a thread; when it fires, shuts the response's socket so a blocked read returns."""

    def __init__(self, cancel, resp):
        self.fired = False
        self._cancel, self._resp = cancel, resp
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self._cancel is not None:
            self._thread = threading.Thread(target=self._run, name="lcl-download-cancel", daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.05):
            if self._cancel():
                self.fired = True
                sock = getattr(getattr(getattr(self._resp, "fp", None), "raw", None), "_sock", None)
                try:
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)
                    else:
                        self._resp.close()
                except OSError:
                    pass
                return

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        return False


def _fetch(url, dest: Path, f, timeout, on_bytes, cancel):
    """Stream ``url`` to ``dest`` via ``dest.part``; check size and md5; rename. Raises DownloadError/Cancelled."""
    part = dest.with_name(dest.name + ".part")
    watcher = None
    try:
        check_cancel(cancel)
        req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.strip().isdigit() else None
            if length is not None and f.size and length != f.size:
                raise DownloadError(f"the server reports {length:,} bytes, but the official file has {f.size:,}")
            expected = length if length is not None else (f.size or None)
            h, done = hashlib.md5(), 0
            with _CancelWatcher(cancel, resp) as watcher, open(part, "wb") as out:
                while True:
                    chunk = resp.read1(_CHUNK)
                    if watcher.fired:
                        raise Cancelled("download cancelled")
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    on_bytes(len(chunk))
                    check_cancel(cancel)
            if expected is not None and done != expected:
                raise DownloadError(f"the connection ended after {done:,} of {expected:,} bytes")
        digest = h.hexdigest()
        if f.md5 and digest != f.md5.lower():
            raise DownloadError(f"checksum mismatch (md5 {digest}, expected {f.md5}); the file was discarded")
        os.replace(part, dest)
    except Cancelled:
        part.unlink(missing_ok=True)
        raise
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"HTTP error {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        part.unlink(missing_ok=True)
        if watcher is not None and watcher.fired:
            raise Cancelled("download cancelled") from exc
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            reason = f"no data for {timeout} s (timed out)"
        raise DownloadError(f"{type(exc).__name__}: {reason}") from exc


def download(name, *, cache_dir=None, progress=None, cancel=None, base_url=None, timeout=30) -> Path:
    """Download a catalog data set into the cache and return its folder.

    Files already present with the right md5 are kept. Each missing file is tried at its
    official URL, then at the entry's mirrors (or only at ``base_url`` when given).

    Parameters
    ----------
    name : str or CatalogEntry
        A key of :data:`~core.datasets.catalog.CATALOG` ("mnist", "fashion-mnist", "cifar10",
        "cifar100"), or an entry built by the caller (tests, private mirrors).
    cache_dir : path or None
        Cache root; default :func:`~core.datasets.catalog.default_cache_dir`.
    progress, cancel : optional hooks (see :mod:`core.progress` and the module docstring)
    base_url : str or None
        Replace the host and path of every URL (``base_url + "/" + filename``).
    timeout : float
        Seconds to wait for a connection or for the next bytes.

    Returns
    -------
    Path
        The data set's cache folder, e.g. ``~/.cache/linear-classifier-lab/mnist``.

    Raises
    ------
    DownloadError
        Offline, HTTP error, dropped connection, stall, wrong size or checksum. The message
        names the URL and the manual alternative. Nothing partial is left behind.
    Cancelled
        ``cancel()`` returned True; nothing partial is left behind.
    """
    entry = get_entry(name)
    folder = dataset_dir(entry, cache_dir)
    many = len(entry.files) > 1
    manual = (f"put the official file{'s' if many else ''} {', '.join(f.filename for f in entry.files)} "
              f"in {folder} or open {'them' if many else 'it'} with File > Open")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache folder {folder} ({exc}); {manual}") from exc
    todo = []
    for f in entry.files:
        dest = folder / f.filename
        if dest.is_file() and (not f.md5 or file_md5(dest) == f.md5):
            continue
        if dest.is_file():
            dest.unlink()   # a wrong file never stays under the real name
        todo.append(f)
    total = sum(f.size for f in todo) or 1
    state = {"done": 0, "t0": time.monotonic(), "last": 0.0}

    def on_bytes(n):
        state["done"] += n
        now = time.monotonic()
        if now - state["last"] >= 0.1 or state["done"] >= total:
            state["last"] = now
            rate = state["done"] / max(now - state["t0"], 1e-6)
            report(progress, state["done"], total,
                   f"{_mb(state['done'])} of {_mb(total)} at {rate / 1e6:.1f} MB/s")

    for f in todo:
        failures = []
        start = state["done"]
        for url in entry.urls(f, base_url):
            try:
                _fetch(url, folder / f.filename, f, timeout, on_bytes, cancel)
                break
            except DownloadError as exc:
                failures.append(f"{url}: {exc}")
                state["done"] = start
        else:
            raise DownloadError(f"could not download {entry.display_name}: {'; '.join(failures)}. "
                                f"Instead, {manual}.")
    report(progress, total, total, f"{entry.display_name} downloaded")
    return folder
