"""A loopback HTTP mirror for the download tests, and a small CIFAR-10 archive in the real format.

The server listens on 127.0.0.1 on a free port, in a thread, and serves files under the paths of
their public URLs (``AGMC_MIRROR`` replaces only scheme and host), so a test exercises the real URL
layout and the real checksums. Nothing here reaches beyond the machine.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


class MirrorServer:
    """Serves ``files`` (URL path -> bytes); ``truncate`` paths announce their full length but send
    half and hang up, as a dropped connection does. ``requests`` logs every ``(method, path)``,
    ``served`` the paths whose whole body went out (torchvision's redirect probe is a GET it closes
    after the headers)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.served: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                server.requests.append((self.command, self.path))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not body:
                    return
                if self.path in server.truncate:
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                try:
                    self.wfile.write(data)
                except ConnectionError:  # the client hung up early
                    return
                server.served.append(self.path)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer(body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(body=False)

            def log_message(self, *args: object) -> None:  # keep pytest's output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_served(self, count: int, timeout: float = 10.0) -> list[str]:
        """``served`` once it lists ``count`` paths, or as it is after ``timeout`` seconds.

        The handler thread logs a path just after its last write, and the client can have read the
        whole body and moved on before that line runs (it did on a loaded 2-core box)."""
        deadline = time.monotonic() + timeout
        while len(self.served) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.served)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class FakeCifar:
    """A CIFAR-10-format ``.tar.gz`` and the arrays the project must make of it."""

    archive: bytes
    md5: str
    train: tuple[np.ndarray, np.ndarray]  # x NHWC uint8, y uint8, class-sorted
    test: tuple[np.ndarray, np.ndarray]


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[int]]:
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def fake_cifar(per_batch: int = 240, test_size: int = 200, seed: int = 0) -> FakeCifar:
    """Five training batches of ``per_batch`` random images and a test batch of ``test_size``."""
    rng = np.random.default_rng(seed)
    batches = {f"data_batch_{i}": _batch(rng, per_batch) for i in range(1, 6)}
    batches["test_batch"] = _batch(rng, test_size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (data, labels) in batches.items():
            payload = pickle.dumps({"batch_label": name, "data": data, "labels": labels})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

    def nhwc(data: np.ndarray) -> np.ndarray:
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

    train_x = np.concatenate([nhwc(batches[f"data_batch_{i}"][0]) for i in range(1, 6)])
    train_y = np.concatenate([np.asarray(batches[f"data_batch_{i}"][1], np.uint8) for i in range(1, 6)])
    # Class-sorted, the original order inside a class: the layout of the shipped train.npz.
    order = np.concatenate([np.flatnonzero(train_y == label) for label in range(10)])
    test = (nhwc(batches["test_batch"][0]), np.asarray(batches["test_batch"][1], np.uint8))
    archive = buffer.getvalue()
    return FakeCifar(archive, hashlib.md5(archive).hexdigest(), (train_x[order], train_y[order]), test)
