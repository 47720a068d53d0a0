"""Downloads against a local HTTP server on 127.0.0.1 (no other network): success and every failure mode."""
from __future__ import annotations

import gzip
import hashlib
import re
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.datasets import CatalogEntry, CatalogFile, DatasetError, DownloadError, download, is_cached, load
from core.datasets.catalog import load_cached
from core.progress import Cancelled

A = bytes(range(256)) * 400          # 102400 bytes
B = b"second file " * 1000


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _head(self, n, length=True):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length:
            self.send_header("Content-Length", str(n))
        self.end_headers()

    def do_GET(self):
        srv = self.server
        srv.hits.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = srv.files.get(name)
        if mode in ("404", "500") or body is None:
            self.send_error(404 if mode != "500" else 500)
            return
        if mode == "ok":
            self._head(len(body))
            self.wfile.write(body)
        elif mode == "nolen":
            self._head(len(body), length=False)
            self.wfile.write(body)
            self.close_connection = True
        elif mode == "drop":
            self._head(len(body))
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
        elif mode == "wrong":
            self._head(len(body))
            self.wfile.write(bytes(reversed(body)))
        elif mode == "stall":
            self._head(len(body))
            self.wfile.write(body[:1000])
            self.wfile.flush()
            srv.release.wait(10)
        elif mode == "slow":
            self._head(len(body))
            for i in range(0, len(body), 4096):
                if srv.release.is_set():
                    return
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
                time.sleep(0.05)


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.files = {"a.bin": A, "b.bin": B}
    srv.hits = []
    srv.release = threading.Event()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=2)


def _entry(url="http://127.0.0.1:9/none/", sizes=(len(A), len(B)), mirrors=()):
    files = tuple(CatalogFile(n, url + n, hashlib.md5(d).hexdigest(), s)
                  for (n, d), s in zip((("a.bin", A), ("b.bin", B)), sizes))
    return CatalogEntry(name="tiny", display_name="Tiny", files=files, loader="idx", license="test",
                        citation="test", homepage="http://example.invalid/", mirrors=mirrors)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success_checksum_atomic_and_cached(server, tmp_path):
    seen = []
    folder = download(_entry(), cache_dir=tmp_path, base_url=server.url + "/ok",
                      progress=lambda d, t, m: seen.append((d, t, m)))
    assert folder == tmp_path / "tiny"
    assert (folder / "a.bin").read_bytes() == A and (folder / "b.bin").read_bytes() == B
    assert _leftovers(folder) == ["a.bin", "b.bin"]
    assert is_cached(_entry(), cache_dir=tmp_path)
    assert seen[-1][0] == seen[-1][1] == len(A) + len(B)
    assert all(d2 >= d1 for (d1, _, _), (d2, _, _) in zip(seen, seen[1:]))
    assert any(re.fullmatch(r"\d+\.\d MB of 0\.1 MB at [\d.]+ MB/s", m) for _, _, m in seen)
    n_hits = len(server.hits)
    download(_entry(), cache_dir=tmp_path, base_url=server.url + "/ok")
    assert len(server.hits) == n_hits           # already there, md5 checked: nothing fetched


def test_missing_content_length_still_checked(server, tmp_path):
    folder = download(_entry(), cache_dir=tmp_path, base_url=server.url + "/nolen")
    assert (folder / "b.bin").read_bytes() == B


@pytest.mark.parametrize("mode,match", [
    ("drop", "connection ended after|IncompleteRead"),
    ("wrong", "checksum mismatch"),
    ("404", "HTTP error 404"),
    ("500", "HTTP error 500"),
])
def test_failures_leave_nothing_and_name_the_url(server, tmp_path, mode, match):
    with pytest.raises(DownloadError, match=match) as info:
        download(_entry(), cache_dir=tmp_path, base_url=f"{server.url}/{mode}", timeout=5)
    msg = str(info.value)
    assert f"{server.url}/{mode}/a.bin" in msg
    assert f"put the official files a.bin, b.bin in {tmp_path / 'tiny'}" in msg and "File > Open" in msg
    assert _leftovers(tmp_path / "tiny") == []
    assert isinstance(info.value, DatasetError)
    # a retry against a healthy server works
    folder = download(_entry(), cache_dir=tmp_path, base_url=server.url + "/ok")
    assert (folder / "a.bin").read_bytes() == A


def test_stall_times_out(server, tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match="timed out") as info:
        download(_entry(), cache_dir=tmp_path, base_url=server.url + "/stall", timeout=0.4)
    assert time.perf_counter() - t0 < 3
    assert "/stall/a.bin" in str(info.value)
    assert _leftovers(tmp_path / "tiny") == []


def test_size_mismatch_with_catalog(server, tmp_path):
    with pytest.raises(DownloadError, match="server reports 102,400 bytes, but the official file has 5"):
        download(_entry(sizes=(5, len(B))), cache_dir=tmp_path, base_url=server.url + "/ok")
    assert _leftovers(tmp_path / "tiny") == []


def test_cancel_mid_file_is_immediate(server, tmp_path):
    got = []
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        download(_entry(), cache_dir=tmp_path, base_url=server.url + "/slow",
                 progress=lambda d, t, m: got.append(d), cancel=lambda: bool(got))
    assert time.perf_counter() - t0 < 2
    assert _leftovers(tmp_path / "tiny") == []


def test_cancel_during_a_stall(server, tmp_path):
    flag = threading.Event()
    threading.Timer(0.3, flag.set).start()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        download(_entry(), cache_dir=tmp_path, base_url=server.url + "/stall", cancel=flag.is_set, timeout=20)
    assert time.perf_counter() - t0 < 2
    assert _leftovers(tmp_path / "tiny") == []


def test_mirror_is_tried_after_the_primary(server, tmp_path):
    entry = _entry(url=server.url + "/404/", mirrors=(server.url + "/ok/",))
    folder = download(entry, cache_dir=tmp_path)
    assert (folder / "a.bin").read_bytes() == A
    assert server.hits[:2] == ["/404/a.bin", "/ok/a.bin"]


def test_wrong_file_in_cache_is_replaced(server, tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "a.bin").write_bytes(b"x" * len(A))
    with pytest.raises(DownloadError):
        download(_entry(), cache_dir=tmp_path, base_url=server.url + "/500")
    assert _leftovers(tmp_path / "tiny") == []          # the known-bad file is not kept under the real name
    download(_entry(), cache_dir=tmp_path, base_url=server.url + "/ok")
    assert (tmp_path / "tiny" / "a.bin").read_bytes() == A


def _idx_gz(arr) -> bytes:
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return gzip.compress(head + arr.tobytes())


def test_download_then_load_from_cache(server, tmp_path):
    blobs = {}
    for split, n in (("train", 20), ("t10k", 10)):
        blobs[f"{split}-images-idx3-ubyte.gz"] = _idx_gz(np.full((n, 28, 28), 7, np.uint8))
        blobs[f"{split}-labels-idx1-ubyte.gz"] = _idx_gz((np.arange(n) % 10).astype(np.uint8))
    server.files.update(blobs)
    entry = CatalogEntry(name="mnist-like", display_name="Tiny MNIST", loader="idx", license="", citation="",
                         homepage="", files=tuple(CatalogFile(n, "http://127.0.0.1:9/" + n,
                                                              hashlib.md5(b).hexdigest(), len(b))
                                                  for n, b in blobs.items()))
    with pytest.raises(DatasetError, match="Tiny MNIST is not downloaded yet"):
        load_cached(entry, cache_dir=tmp_path)
    folder = download(entry, cache_dir=tmp_path, base_url=server.url + "/ok")
    ds = load_cached(entry, cache_dir=tmp_path)
    assert ds.name == "Tiny MNIST" and ds.source == "mnist-like"
    assert ds.n_train == 20 and ds.n_test == 10 and int(ds.X_train.max()) == 7
    assert load(folder).n_train == 20
