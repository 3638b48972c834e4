"""Builtin datasets that are downloaded once: where each file comes from, its sha256, and the cache.

Every downloadable file is a `Resource` cached at `cache_dir()/<dataset>/<filename>`. `fetch` takes the
cached file when its sha256 matches, so a copy put there by hand (offline machines) is used as is;
otherwise it downloads to a temporary file next to it, verifies the sha256 and only then renames it
into place, so a partial or wrong file never sits under the final name. Archives are unpacked by
`extract` (data/extract.py).
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import trainlab
from trainlab.errors import TrainlabError
from trainlab.runs import atomic_write_text, give_default_mode, say

CACHE_ENV = "TRAINLAB_CACHE"
TIMEOUT_SECONDS = 60.0  # per socket operation, not for the whole download
PROGRESS_EVERY_SECONDS = 5.0
_CHUNK_BYTES = 1 << 20
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_MARKER_SUFFIX = ".sha256"


def cache_dir() -> Path:
    """`$TRAINLAB_CACHE` if set, else `~/.cache/trainlab`."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "trainlab"


@dataclass(frozen=True)
class Resource:
    """One file of a builtin dataset: where to download it and the sha256 it must have."""

    dataset: str
    url: str
    sha256: str  # lowercase hex: the whole digest, or (weights named as torch.hub names them) its start
    filename: str  # inside cache_dir()/dataset/
    own_copy: str | None = None  # how a user gives their own copy instead; None: with --data

    @property
    def path(self) -> Path:
        """Where the verified file lives (and where a user may put a copy by hand)."""
        return cache_dir() / self.dataset / self.filename

    def matches(self, digest: str) -> bool:
        """Whether a file's sha256 is this resource's (or starts with the prefix recorded)."""
        return digest.startswith(self.sha256)


# What each builtin downloadable dataset needs: dataset -> its files.
_RESOURCES: dict[str, tuple[Resource, ...]] = {}


def declare(dataset: str, *resources: Resource) -> None:
    """Add `dataset` and its files to the table; a malformed entry is a programming error."""
    if dataset in _RESOURCES:
        raise ValueError(f"dataset '{dataset}' is declared twice")
    if not resources:
        raise ValueError(f"dataset '{dataset}' needs at least one resource")
    for resource in resources:
        if resource.dataset != dataset:
            raise ValueError(f"resource {resource.filename} belongs to '{resource.dataset}', not '{dataset}'")
        if not _SHA256_PATTERN.fullmatch(resource.sha256):
            raise ValueError(f"{dataset}/{resource.filename}: sha256 must be 64 lowercase hex digits")
        if PurePosixPath(resource.filename).name != resource.filename or resource.filename in ("", ".", ".."):
            raise ValueError(f"{dataset}: filename '{resource.filename}' must be a plain file name")
    _RESOURCES[dataset] = tuple(resources)


def downloadable() -> list[str]:
    """Names of the declared datasets, sorted."""
    return sorted(_RESOURCES)


def resources_of(dataset: str) -> tuple[Resource, ...]:
    """The files of a declared dataset; an unknown name is a one-line error listing the choices."""
    if dataset not in _RESOURCES:
        close = difflib.get_close_matches(dataset, downloadable(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise TrainlabError(
            f"'{dataset}' is not a downloadable dataset{hint}; downloadable: {', '.join(downloadable())}"
        )
    return _RESOURCES[dataset]


def fetch_dataset(dataset: str, quiet: bool = False) -> list[Path]:
    """Download (or find in the cache) and verify every file of `dataset`; their paths, in order."""
    return [fetch(resource, quiet=quiet) for resource in resources_of(dataset)]


def fetch(resource: Resource, quiet: bool = False) -> Path:
    """The verified local path of `resource`, downloading it only when it is not in the cache.

    A file already at `resource.path` is used when its sha256 matches; one that does not match is
    refused (it may be a user's copy, so it is neither used nor deleted). Downloads stream to a
    temporary file in the same folder and are renamed into place only after the sha256 matched.
    """
    path = resource.path
    if path.is_file():
        _verify_cached(resource)
        return path
    _download(resource, quiet)
    return path


# The builtin table: each file is the URL's last part; its sha256 is that of the exact bytes served.


def _files(dataset: str, base_url: str, checksums: dict[str, str]) -> tuple[Resource, ...]:
    """Resources named by filename under one base URL."""
    return tuple(Resource(dataset, base_url + name, sha256, name) for name, sha256 in checksums.items())


# sha256 from TensorFlow Datasets' url_checksums/mnist.txt (same mirror). The t10k-images, t10k-labels
# and train-labels values equal the sha256 of /work/shared/data/mnist/raw/*.gz, whose md5 sums are
# the official MNIST ones.
declare("mnist", *_files("mnist", "https://storage.googleapis.com/cvdf-datasets/mnist/", {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}))

# sha256 from TensorFlow Datasets' url_checksums/fashion_mnist.txt (same URLs; Zalando's own host,
# which serves plain http: the sha256 check is what makes the file trustworthy).
_FASHION_MNIST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
declare("fashion-mnist", *_files("fashion-mnist", _FASHION_MNIST, {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}))

# sha256 from Keras' keras/datasets/cifar10.py (`file_hash` for this URL); several projects cite the
# same value with the size 170,498,071 and torchvision's md5 c58f30108f718f92721af3b95e74349a.
declare("cifar10", *_files("cifar10", "https://www.cs.toronto.edu/~kriz/", {
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
}))

# sha256 from TensorFlow Datasets' url_checksums/imdb_reviews.txt (84,125,825 bytes).
declare("imdb", *_files("imdb", "https://ai.stanford.edu/~amaas/data/sentiment/", {
    "aclImdb_v1.tar.gz": "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
}))

# sha256 from Hugging Face's GLUE dataset info for this URL (7,439,277 bytes); TensorFlow Datasets'
# url_checksums/glue.txt gives the same value for GLUE's original Firebase link to SST-2.zip.
declare("sst2", *_files("sst2", "https://dl.fbaipublicfiles.com/glue/data/", {
    "SST-2.zip": "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
}))

# sha256 from Hugging Face datasets' datasets/ag_news/dataset_infos.json (download_checksums of these
# URLs: 29,470,338 and 1,857,427 bytes); torchtext's AG_NEWS downloads the same URLs.
_AG_NEWS = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"
declare("ag_news", *_files("ag_news", _AG_NEWS, {
    "train.csv": "76a0a2d2f92b286371fe4d4044640910a04a803fdd2538e0f3f29a5c6f6b672e",
    "test.csv": "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
}))

# Pinned to the commit named in /work/shared/data/tiny_shakespeare/PROVENANCE.md; sha256 computed
# from that byte copy (1,115,394 bytes), equal to the value PROVENANCE.md records.
_CHAR_RNN = "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
declare("tiny-shakespeare", *_files("tiny-shakespeare", _CHAR_RNN + "data/tinyshakespeare/", {
    "input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
}))

# Pinned to the commit named in /work/shared/data/airline_passengers/PROVENANCE.md; sha256 computed
# from that byte copy (2,180 bytes), equal to the value PROVENANCE.md records.
_BROWNLEE = "https://raw.githubusercontent.com/jbrownlee/Datasets/d20fcb6402ae34e653d4513b00f39257bb37ed7f/"
declare("airline-passengers", *_files("airline-passengers", _BROWNLEE, {
    "airline-passengers.csv": "8cb51be753a718d9be5d76d7e238cc224792754676adc21faa59e954b0201621",
}))


# The cache: a verified file and its marker.


def _marker(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _file_stamp(path: Path) -> str:
    """Size and modification time: a marker only counts for the exact file it was written for."""
    info = path.stat()
    return f"{info.st_size} {info.st_mtime_ns}"


def _remember_digest(path: Path, digest: str) -> None:
    """Record a verified digest so later calls skip rehashing; a read-only cache just rehashes."""
    try:
        atomic_write_text(_marker(path), f"{digest} {_file_stamp(path)}\n")
    except OSError:
        pass


def _remembered_digest(path: Path) -> str | None:
    try:
        digest, stamp = _marker(path).read_text().strip().split(" ", 1)
        return digest if stamp == _file_stamp(path) else None
    except (OSError, ValueError):
        return None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_cached(resource: Resource) -> None:
    """Accept the cached file when its sha256 matches; otherwise say what to do with it."""
    path = resource.path
    digest = _remembered_digest(path)
    if digest is None:
        try:
            digest = _sha256_of(path)
        except OSError as error:
            raise TrainlabError(f"{path}: cannot read the cached {resource.dataset} file ({error})") from None
        if resource.matches(digest):
            _remember_digest(path, digest)
    if not resource.matches(digest):
        raise TrainlabError(
            f"{path}: sha256 {digest} is not the expected {resource.sha256} of {resource.url}; "
            f"it is not the {resource.dataset} file trainlab uses: delete it to download again, "
            f"or {resource.own_copy or 'pass --data with your own copy'}"
        )


# Downloading.


def _unreachable(resource: Resource, reason: str) -> TrainlabError:
    """The one line for every network failure: what failed, and where a copy made elsewhere goes."""
    reason = " ".join(reason.split())  # one line, whatever the underlying error printed
    return TrainlabError(
        f"cannot download {resource.dataset} from {resource.url} ({reason}); nothing was kept. "
        f"Offline? Download it elsewhere and put it at {resource.path}, "
        f"or {resource.own_copy or 'pass --data with a local copy'}"
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP Error {error.code}: {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, TimeoutError):
        return f"no data for {TIMEOUT_SECONDS:g} s"
    return str(error) or type(error).__name__


def _download(resource: Resource, quiet: bool) -> None:
    """Stream `resource.url` to a temporary sibling, verify its sha256, rename it into place."""
    target = resource.path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise _unwritable(resource, error) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            digest = _stream(resource, handle, quiet)
        if not resource.matches(digest):
            raise TrainlabError(
                f"{resource.dataset}: {resource.url} gave sha256 {digest}, expected {resource.sha256}; "
                f"the download was discarded (a changed or corrupted file): try again, or put a verified "
                f"copy at {target}"
            )
        give_default_mode(Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _remember_digest(target, digest)


def _unwritable(resource: Resource, error: OSError) -> TrainlabError:
    return TrainlabError(
        f"{resource.path.parent}: cannot write the {resource.dataset} download ({error.strerror or error}); "
        f"free some space or set {CACHE_ENV} to a writable folder"
    )


def _stream(resource: Resource, handle: BinaryIO, quiet: bool) -> str:
    """Copy the response body into `handle`; the body's sha256. Network trouble -> one-line error."""
    request = urllib.request.Request(resource.url, headers={"User-Agent": f"trainlab/{trainlab.__version__}"})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            announced = int(response.headers.get("Content-Length") or 0) or None
            if not quiet:
                size = f" ({announced / 1e6:.1f} MB)" if announced else ""
                say(f"downloading {resource.dataset} {resource.filename} from {resource.url}{size}")
            last_report = time.monotonic()
            while chunk := response.read(_CHUNK_BYTES):
                try:
                    handle.write(chunk)
                except OSError as error:
                    raise _unwritable(resource, error) from None
                digest.update(chunk)
                received += len(chunk)
                if not quiet and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    say(f"  {resource.filename}: {_progress(received, announced)}")
    except http.client.IncompleteRead as error:
        closed_after = received + len(error.partial)
        raise _unreachable(resource, f"connection closed after {closed_after} of {announced} bytes") from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        # URLError, HTTPError, timeouts, refused or reset connections, a malformed URL.
        raise _unreachable(resource, _reason(error)) from None
    if announced is not None and received < announced:
        raise _unreachable(resource, f"connection closed after {received} of {announced} bytes")
    if not quiet:
        say(f"  {resource.filename}: {received / 1e6:.1f} MB received, verifying sha256")
    return digest.hexdigest()


def _progress(received: int, announced: int | None) -> str:
    if announced:
        return f"{received / 1e6:.1f} of {announced / 1e6:.1f} MB ({100 * received / announced:.0f}%)"
    return f"{received / 1e6:.1f} MB"
