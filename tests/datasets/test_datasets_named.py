"""Named data sets: real MNIST / Fashion-MNIST files, lookup order, and downloads over real HTTP.

The download tests run a real HTTP server on 127.0.0.1 and go through the same code as
``load_mnist``: :func:`load` with a :class:`DatasetSpec`, which calls :func:`fetch_file`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from glassnet.datasets import (
    FASHION_MNIST,
    MNIST,
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DatasetSpec,
    DownloadError,
    download,
    fetch_file,
    find,
    load,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    write_idx,
)
from glassnet.datasets.named import user_cache_dir

FASHION_CLASSES = (
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
)


# --------------------------------------------------------------------------- real data
def test_shared_mnist_files_are_the_official_ones(mnist_dir, mnist_test_md5):
    for name, expected in mnist_test_md5.items():
        assert hashlib.md5((mnist_dir / name).read_bytes()).hexdigest() == expected, name


def test_load_mnist_test_split_from_data_dir(mnist_dir):
    data = load_mnist("test", data_dir=mnist_dir, download=False)
    assert data.images.shape == (10000, 28, 28)
    assert data.images.dtype == np.uint8
    assert data.labels.shape == (10000,)
    assert data.labels.dtype == np.int64
    assert set(np.unique(data.labels).tolist()) == set(range(10))
    counts = np.bincount(data.labels, minlength=10)
    assert counts.sum() == 10000
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.class_names == tuple("0123456789")
    assert (data.name, data.split, data.source_path, len(data)) == (
        "mnist",
        "test",
        mnist_dir,
        10000,
    )
    X = data.X
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X[0], data.images[0].ravel() / 255, rtol=1e-6)
    assert "images=(10000, 28, 28)" in repr(data)


def test_load_by_name_matches_load_mnist(mnist_dir):
    a = load("MNIST", "test", data_dir=mnist_dir, download=False)
    b = load_mnist("test", data_dir=mnist_dir, download=False)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_missing_split_without_download_lists_places_and_hints(mnist_dir):
    # shared/data/mnist only has the test split.
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("train", data_dir=mnist_dir, download=False)
    message = str(info.value)
    assert str(mnist_dir / "mnist") in message
    assert str(mnist_dir) in message
    assert str(user_cache_dir() / "mnist") in message
    assert "/usr/share/datasets/mnist" in message
    assert "$GLASSNET_DATA: not set" in message
    assert "download=False" in message
    assert "glassnet download mnist" in message
    assert "GLASSNET_DATA" in message
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_fashion_mnist_from_the_debian_package(fashion_dir, split, n):
    data = load_fashion_mnist(split, download=False)
    assert data.source_path == fashion_dir
    assert data.images.shape == (n, 28, 28) and data.images.dtype == np.uint8
    assert data.labels.shape == (n,)
    # Fashion-MNIST is balanced: every class has exactly n / 10 images.
    assert np.bincount(data.labels).tolist() == [n // 10] * 10
    assert data.class_names == FASHION_CLASSES


def test_fashion_not_found_message_names_the_debian_package(monkeypatch, tmp_path):
    spec = dataclasses.replace(FASHION_MNIST, system_dirs=(str(tmp_path / "nothing"),))
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load(spec, "test", download=False)


# --------------------------------------------------------------------------- lookup order
def write_split(folder: Path, n: int, gz: bool = True) -> None:
    """A tiny MNIST-format test split with n images whose pixels all equal n."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", np.full((n, 28, 28), n, np.uint8))
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8) % 10)


def test_lookup_order_data_dir_then_env_then_cache_then_system(tmp_path, monkeypatch):
    system = tmp_path / "system"
    spec = dataclasses.replace(MNIST, system_dirs=(str(system),), mirrors=())
    data_dir, env = tmp_path / "given", tmp_path / "env"
    write_split(data_dir / "mnist", 1)
    write_split(data_dir, 2)
    write_split(env / "mnist", 3)
    write_split(env, 4, gz=False)  # uncompressed names are accepted too
    write_split(user_cache_dir() / "mnist", 5)
    write_split(system, 6)
    monkeypatch.setenv("GLASSNET_DATA", str(env))

    def found() -> int:
        return len(load(spec, "test", data_dir=data_dir, download=False))

    assert found() == 1  # data_dir/<name>/
    for n, folder in [(1, data_dir / "mnist"), (2, data_dir), (3, env / "mnist"), (4, env)]:
        for f in folder.glob("t10k-*"):
            f.unlink()
        assert found() == n + 1
    for f in (user_cache_dir() / "mnist").glob("t10k-*"):
        f.unlink()
    assert found() == 6
    for f in system.glob("t10k-*"):
        f.unlink()
    with pytest.raises(DatasetNotFoundError, match="found them in none of these") as info:
        found()
    assert str(system) in str(info.value) and "Download was not attempted" in str(info.value)


def test_folder_with_only_one_of_the_two_files_is_skipped(tmp_path):
    spec = dataclasses.replace(MNIST, system_dirs=(str(tmp_path / "system"),), mirrors=())
    write_split(tmp_path / "system", 3)
    (tmp_path / "given").mkdir()
    write_idx(tmp_path / "given" / "t10k-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    assert len(load(spec, "test", data_dir=tmp_path / "given", download=False)) == 3


def test_env_var_beats_the_debian_package_for_fashion(fashion_dir, tmp_path, monkeypatch):
    write_split(tmp_path / "fashion-mnist", 7)
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path))
    data = load_fashion_mnist("test", download=False)
    assert len(data) == 7 and data.source_path == tmp_path / "fashion-mnist"


def test_mismatched_files_are_reported(tmp_path):
    write_split(tmp_path, 4)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="expected 4 labels"):
        load_mnist("test", data_dir=tmp_path, download=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(4, 10, np.uint8))
    with pytest.raises(DatasetError, match="class ids below 10"):
        load_mnist("test", data_dir=tmp_path, download=False)


def test_unknown_name_and_split_are_errors():
    with pytest.raises(DatasetError, match=r"\['fashion-mnist', 'mnist'\].*cifar"):
        load("cifar10")
    with pytest.raises(DatasetError, match=r"splits \['test', 'train'\], got split='valid'"):
        load_mnist("valid")


def test_missing_pooch_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pooch", None)  # makes `import pooch` fail
    with pytest.raises(ImportError, match=r'pip install "glassnet\[data\]"'):
        fetch_file("http://127.0.0.1:9/x", "sha256:" + "0" * 64, tmp_path)


# --------------------------------------------------------------------------- downloads
class FileServer:
    """A real HTTP server on 127.0.0.1 serving in-memory files, counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop: set[str] = set()  # paths whose connection is cut halfway
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests[self.path] += 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.drop:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens: connection refused


def tiny_spec(server: FileServer, tmp_path: Path, n: int = 6, **changes) -> DatasetSpec:
    """A 3-class data set with train and test splits of n 4x4 images, served by `server`."""
    rng = np.random.default_rng(n)
    files = {}
    for prefix in ("train", "t10k"):
        blobs = {
            f"{prefix}-images-idx3-ubyte.gz": rng.integers(0, 256, (n, 4, 4), dtype=np.uint8),
            f"{prefix}-labels-idx1-ubyte.gz": np.arange(n, dtype=np.uint8) % 3,
        }
        for name, array in blobs.items():
            body = write_idx(tmp_path / "made" / name, array).read_bytes()
            server.files["/tiny/" + name] = body
            files[name] = "sha256:" + hashlib.sha256(body).hexdigest()
    fields = dict(
        name="tiny",
        title="Tiny",
        class_names=("a", "b", "c"),
        files=files,
        mirrors=(server.url + "tiny/",),
        system_dirs=(),
    )
    fields.update(changes)
    return DatasetSpec(**fields)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_download_loads_and_caches_so_second_load_makes_no_request(server, tmp_path):
    (tmp_path / "made").mkdir()
    spec = tiny_spec(server, tmp_path)
    data = load(spec, "test")
    assert data.images.shape == (6, 4, 4) and data.labels.tolist() == [0, 1, 2, 0, 1, 2]
    cache = user_cache_dir() / "tiny"
    assert data.source_path == cache
    assert sorted(p.name for p in files_under(cache)) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert sum(server.requests.values()) == 2
    again = load(spec, "test")
    assert sum(server.requests.values()) == 2  # served from the cache
    np.testing.assert_array_equal(again.images, data.images)


def test_real_mnist_hashes_verify_files_served_locally(server, mnist_dir, mnist_test_md5):
    for name in mnist_test_md5:
        server.files["/mnist/" + name] = (mnist_dir / name).read_bytes()
    data = load_mnist("test", mirrors=server.url + "mnist")  # one URL as a plain string
    assert data.source_path == user_cache_dir() / "mnist"
    assert len(data) == 10000
    assert server.requests["/mnist/t10k-images-idx3-ubyte.gz"] == 1


def test_data_dir_is_looked_in_but_never_made_a_download_target(server, tmp_path):
    (tmp_path / "made").mkdir()
    spec = tiny_spec(server, tmp_path)
    data = load(spec, "train", data_dir=tmp_path / "mine")
    assert data.source_path == user_cache_dir() / "tiny"
    assert not (tmp_path / "mine").exists()


def test_download_function_fetches_every_file_once(server, tmp_path):
    (tmp_path / "made").mkdir()
    spec = tiny_spec(server, tmp_path)
    folder = download(spec, data_dir=tmp_path / "all")
    assert folder == tmp_path / "all" / "tiny"
    assert len(files_under(folder)) == 4
    download(spec, data_dir=tmp_path / "all")
    assert sum(server.requests.values()) == 4  # present and verified: not fetched again
    np.testing.assert_array_equal(read_idx(folder / "train-labels-idx1-ubyte.gz"), np.arange(6) % 3)


def test_wrong_checksum_raises_and_leaves_nothing_on_disk(server, tmp_path):
    (tmp_path / "made").mkdir()
    good = tiny_spec(server, tmp_path)
    files = dict(good.files, **{"t10k-images-idx3-ubyte.gz": "sha256:" + "0" * 64})
    spec = dataclasses.replace(good, files=files)
    with pytest.raises(ChecksumError, match="expected a file with hash sha256:0000"):
        fetch_file(
            spec.mirrors[0] + "t10k-images-idx3-ubyte.gz",
            files["t10k-images-idx3-ubyte.gz"],
            tmp_path / "direct",
        )
    assert not (tmp_path / "direct").exists()

    with pytest.raises(DatasetNotFoundError, match="different hash") as info:
        load(spec, "test")
    assert isinstance(info.value.__cause__, DownloadError)
    assert server.requests["/tiny/t10k-images-idx3-ubyte.gz"] == 2
    assert files_under(user_cache_dir()) == []


def test_connection_dropped_mid_file_raises_and_leaves_nothing(server, tmp_path):
    (tmp_path / "made").mkdir()
    spec = tiny_spec(server, tmp_path, n=3000)  # ~48 kB of images, cut after half
    server.drop.add("/tiny/train-images-idx3-ubyte.gz")
    with pytest.raises(
        DownloadError, match=r"train-images-idx3-ubyte.gz failed: .*no partial file"
    ) as info:
        fetch_file(
            spec.mirrors[0] + "train-images-idx3-ubyte.gz",
            spec.files["train-images-idx3-ubyte.gz"],
            tmp_path / "direct",
        )
    assert not isinstance(info.value, ChecksumError)  # seen as a broken connection
    assert not (tmp_path / "direct").exists()
    with pytest.raises(DatasetNotFoundError, match="Download failed"):
        load(spec, "train")
    assert files_under(user_cache_dir()) == []


def test_offline_lists_every_place_looked(tmp_path, monkeypatch):
    env = tmp_path / "env"
    monkeypatch.setenv("GLASSNET_DATA", str(env))
    spec = dataclasses.replace(
        MNIST, mirrors=(closed_port_url(), closed_port_url()), system_dirs=(str(tmp_path / "sys"),)
    )
    with pytest.raises(DatasetNotFoundError) as info:
        load(spec, "test", data_dir=tmp_path / "given")
    message = str(info.value)
    for place in [
        tmp_path / "given" / "mnist",
        tmp_path / "given",
        env / "mnist",
        env,
        user_cache_dir() / "mnist",
        tmp_path / "sys",
    ]:
        assert f"  - {place}\n" in message
    assert "Download failed" in message and "2 mirror(s)" in message
    assert files_under(tmp_path) == []


def test_falls_back_to_the_next_mirror(server, tmp_path):
    (tmp_path / "made").mkdir()
    spec = tiny_spec(server, tmp_path)
    spec = dataclasses.replace(
        spec, mirrors=(closed_port_url(), server.url + "missing/", *spec.mirrors)
    )
    assert len(load(spec, "test")) == 6
    assert server.requests["/missing/t10k-images-idx3-ubyte.gz"] == 1  # the 404 was tried


def test_fetch_file_rejects_non_http_urls_and_missing_hash(tmp_path):
    with pytest.raises(DatasetError, match="http"):
        fetch_file("file:///etc/passwd", "sha256:" + "0" * 64, tmp_path)
    with pytest.raises(DatasetError, match="known hash"):
        fetch_file("http://127.0.0.1/x", "", tmp_path)


def test_importing_the_package_does_not_import_optional_dependencies():
    code = (
        "import sys, glassnet.datasets\n"
        "print(sorted(m for m in ('pooch', 'PIL', 'platformdirs', 'requests') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_without_platformdirs_the_cache_is_skipped_and_download_needs_the_extra(
    monkeypatch, tmp_path
):
    monkeypatch.setitem(sys.modules, "platformdirs", None)
    spec = dataclasses.replace(MNIST, system_dirs=())
    with pytest.raises(DatasetNotFoundError, match=r"user cache: skipped, platformdirs"):
        load(spec, "test", download=False)
    with pytest.raises(ImportError, match=r"platformdirs.*glassnet\[data\]"):
        load(spec, "test")


def test_datasets_compare_by_identity_not_by_array_equality(mnist_dir):
    a = load_mnist("test", data_dir=mnist_dir, download=False)
    assert a == a and a != load_mnist("test", data_dir=mnist_dir, download=False)


def test_mnist_files_asked_for_as_fashion_mnist_are_detected(mnist_dir, tmp_path, monkeypatch):
    """Same file names: a folder of MNIST given for fashion-mnist is found out and said."""
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes((mnist_dir / name).read_bytes())
    with pytest.raises(DatasetError, match="holds MNIST, not Fashion-MNIST .its checksum"):
        load_fashion_mnist("test", data_dir=tmp_path, download=False)
    # Re-encoded (another gzip, or unpacked): the brightness tells.
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    with pytest.raises(DatasetError, match="holds MNIST, not Fashion-MNIST .its mean brightness"):
        load_fashion_mnist("test", data_dir=tmp_path, download=False)
    assert len(load_mnist("test", data_dir=tmp_path, download=False)) == 10000


def test_fashion_files_asked_for_as_mnist_are_detected(fashion_dir, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes((fashion_dir / name).read_bytes())
    with pytest.raises(DatasetError, match="holds Fashion-MNIST, not MNIST"):
        load_mnist("test", data_dir=tmp_path, download=False)
    assert find("fashion-mnist") == fashion_dir
