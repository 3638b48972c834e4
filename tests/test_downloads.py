"""Verified downloads, the cache and safe extraction, through the real code against a local server."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import pytest

from local_server import refused_url, serve
from trainlab.data import download
from trainlab.data.download import Resource, fetch, fetch_dataset, resources_of
from trainlab.data.extract import extract
from trainlab.errors import TrainlabError

PAYLOAD = bytes(range(256)) * 1000  # 256,000 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TRAINLAB_CACHE", str(folder))
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to download fails the test: the answer must come from the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


# The cache location


def test_cache_dir_is_trainlab_cache_or_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "elsewhere"))
    assert download.cache_dir() == tmp_path / "elsewhere"
    resource = Resource("toy", "http://x/f", PAYLOAD_SHA256, "f.bin")
    assert resource.path == tmp_path / "elsewhere" / "toy" / "f.bin"
    monkeypatch.delenv("TRAINLAB_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_dir() == tmp_path / "home" / ".cache" / "trainlab"


# Downloading


def test_download_then_cache_hit_without_the_server(cache, capsys):
    with serve({"/data/file.bin": PAYLOAD}) as server:
        resource = Resource("toy", server.url("/data/file.bin"), PAYLOAD_SHA256, "file.bin")
        path = fetch(resource)
        assert server.requests == ["/data/file.bin"]
    assert path == cache / "toy" / "file.bin" and path.read_bytes() == PAYLOAD
    # The marker remembers the verified digest; no temporary file is left.
    assert files_under(cache) == ["toy", "toy/file.bin", "toy/file.bin.sha256"]
    assert (cache / "toy" / "file.bin.sha256").read_text().split()[0] == PAYLOAD_SHA256
    err = capsys.readouterr().err
    assert f"downloading toy file.bin from {resource.url} (0.3 MB)" in err

    # The server is gone: the second call is answered from the cache, silently.
    assert fetch(resource) == path and path.read_bytes() == PAYLOAD
    assert capsys.readouterr().err == ""


def test_a_served_folder_gives_its_files_at_their_relative_paths(cache, tmp_path):
    (tmp_path / "site" / "sub").mkdir(parents=True)
    (tmp_path / "site" / "sub" / "f.bin").write_bytes(PAYLOAD)
    with serve(tmp_path / "site") as server:
        path = fetch(Resource("toy", server.url("sub/f.bin"), PAYLOAD_SHA256, "f.bin"), quiet=True)
    assert path.read_bytes() == PAYLOAD and server.requests == ["/sub/f.bin"]


def test_quiet_download_prints_nothing(cache, capsys):
    with serve({"/f.bin": PAYLOAD}) as server:
        fetch(Resource("toy", server.url("/f.bin"), PAYLOAD_SHA256, "f.bin"), quiet=True)
    assert capsys.readouterr().err == ""


def test_wrong_checksum_keeps_nothing_and_names_both_digests(cache):
    expected = hashlib.sha256(b"the file we wanted").hexdigest()
    with serve({"/f.bin": PAYLOAD}) as server:
        resource = Resource("toy", server.url("/f.bin"), expected, "f.bin")
        with pytest.raises(TrainlabError) as error:
            fetch(resource, quiet=True)
    assert str(error.value) == (
        f"toy: {resource.url} gave sha256 {PAYLOAD_SHA256}, expected {expected}; the download was "
        f"discarded (a changed or corrupted file): try again, or put a verified copy at {resource.path}"
    )
    assert files_under(cache) == ["toy"]


@pytest.mark.parametrize("sent", [0, 1000, len(PAYLOAD) - 1])
def test_truncated_download_keeps_nothing(cache, sent):
    with serve({"/f.bin": PAYLOAD}, truncate={"/f.bin": sent}) as server:
        resource = Resource("toy", server.url("/f.bin"), PAYLOAD_SHA256, "f.bin")
        with pytest.raises(TrainlabError) as error:
            fetch(resource, quiet=True)
    assert str(error.value).startswith(
        f"cannot download toy from {resource.url} (connection closed after {sent} of {len(PAYLOAD)} bytes); "
        "nothing was kept."
    )
    assert files_under(cache) == ["toy"]


def test_offline_is_one_line_naming_dataset_url_and_where_to_put_a_copy(cache):
    resource = Resource("toy", refused_url("/f.bin"), PAYLOAD_SHA256, "f.bin")
    with pytest.raises(TrainlabError) as error:
        fetch(resource, quiet=True)
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"cannot download toy from {resource.url} ([Errno 111] Connection refused); nothing was kept. "
        f"Offline? Download it elsewhere and put it at {cache / 'toy' / 'f.bin'}, "
        "or pass --data with a local copy"
    )
    assert files_under(cache) == ["toy"]


def test_http_error_is_the_same_kind_of_line(cache):
    with serve({}) as server:
        resource = Resource("toy", server.url("/missing.bin"), PAYLOAD_SHA256, "missing.bin")
        with pytest.raises(TrainlabError, match=r"^cannot download toy from .*/missing\.bin "
                                                r"\(HTTP Error 404: Not Found\); nothing was kept\."):
            fetch(resource, quiet=True)
    assert files_under(cache) == ["toy"]


def test_a_stalled_download_times_out_and_keeps_nothing(cache, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_SECONDS", 0.3)
    with serve({"/f.bin": PAYLOAD}, stall={"/f.bin"}) as server:
        resource = Resource("toy", server.url("/f.bin"), PAYLOAD_SHA256, "f.bin")
        with pytest.raises(TrainlabError, match=r"\(no data for 0\.3 s\); nothing was kept\."):
            fetch(resource, quiet=True)
    assert files_under(cache) == ["toy"]


# The cache: copies put there by hand, files changed after verification


def test_a_copy_put_in_the_cache_by_hand_is_used(cache, no_network):
    resource = Resource("toy", "http://unused.invalid/f.bin", PAYLOAD_SHA256, "f.bin")
    resource.path.parent.mkdir(parents=True)
    resource.path.write_bytes(PAYLOAD)
    assert fetch(resource) == resource.path
    assert (cache / "toy" / "f.bin.sha256").read_text().split()[0] == PAYLOAD_SHA256


def test_a_wrong_file_in_the_cache_is_refused_and_left_alone(cache, no_network):
    resource = Resource("toy", "http://unused.invalid/f.bin", PAYLOAD_SHA256, "f.bin")
    resource.path.parent.mkdir(parents=True)
    resource.path.write_bytes(b"someone else's file")
    wrong = hashlib.sha256(b"someone else's file").hexdigest()
    with pytest.raises(TrainlabError) as error:
        fetch(resource)
    assert str(error.value) == (
        f"{resource.path}: sha256 {wrong} is not the expected {PAYLOAD_SHA256} of {resource.url}; "
        "it is not the toy file trainlab uses: delete it to download again, or pass --data with your own copy"
    )
    assert resource.path.read_bytes() == b"someone else's file"
    assert not (cache / "toy" / "f.bin.sha256").exists()


def test_the_marker_does_not_vouch_for_a_file_changed_after_verification(cache, no_network):
    resource = Resource("toy", "http://unused.invalid/f.bin", PAYLOAD_SHA256, "f.bin")
    resource.path.parent.mkdir(parents=True)
    resource.path.write_bytes(PAYLOAD)
    fetch(resource)
    # Same size, different bytes, newer modification time.
    resource.path.write_bytes(PAYLOAD[::-1])
    stat = resource.path.stat()
    os.utime(resource.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(TrainlabError, match="is not the expected"):
        fetch(resource)


# The dataset table


@pytest.fixture
def toy_table(monkeypatch):
    """Only a toy dataset is declared for the duration of a test."""
    monkeypatch.setattr(download, "_RESOURCES", {})


def test_fetch_dataset_fetches_every_file_in_order(cache, toy_table):
    second = b"second file"
    with serve({"/a.bin": PAYLOAD, "/b.txt": second}) as server:
        download.declare(
            "toy",
            Resource("toy", server.url("/a.bin"), PAYLOAD_SHA256, "a.bin"),
            Resource("toy", server.url("/b.txt"), hashlib.sha256(second).hexdigest(), "b.txt"),
        )
        paths = fetch_dataset("toy", quiet=True)
    assert paths == [cache / "toy" / "a.bin", cache / "toy" / "b.txt"]
    assert [path.read_bytes() for path in paths] == [PAYLOAD, second]
    assert download.downloadable() == ["toy"]


def test_unknown_dataset_lists_the_downloadable_ones():
    with pytest.raises(TrainlabError) as error:
        fetch_dataset("mnits")
    assert str(error.value) == (
        "'mnits' is not a downloadable dataset (did you mean 'mnist'?); downloadable: ag_news, "
        "airline-passengers, cifar10, fashion-mnist, imdb, mnist, sst2, tiny-shakespeare"
    )


def test_declare_refuses_malformed_entries(toy_table):
    with pytest.raises(ValueError, match="64 lowercase hex"):
        download.declare("toy", Resource("toy", "http://x/f", "ABC", "f"))
    with pytest.raises(ValueError, match="plain file name"):
        download.declare("toy", Resource("toy", "http://x/f", PAYLOAD_SHA256, "../f"))
    with pytest.raises(ValueError, match="belongs to 'other'"):
        download.declare("toy", Resource("other", "http://x/f", PAYLOAD_SHA256, "f"))
    download.declare("toy", Resource("toy", "http://x/f", PAYLOAD_SHA256, "f"))
    with pytest.raises(ValueError, match="declared twice"):
        download.declare("toy", Resource("toy", "http://x/f", PAYLOAD_SHA256, "f"))


def test_builtin_table_has_the_expected_files():
    files = {name: [resource.filename for resource in resources_of(name)] for name in download.downloadable()}
    idx = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
           "t10k-labels-idx1-ubyte.gz"]
    assert files == {
        "mnist": idx, "fashion-mnist": idx, "cifar10": ["cifar-10-python.tar.gz"],
        "imdb": ["aclImdb_v1.tar.gz"], "sst2": ["SST-2.zip"], "ag_news": ["train.csv", "test.csv"],
        "tiny-shakespeare": ["input.txt"], "airline-passengers": ["airline-passengers.csv"],
    }
    for name in files:
        for resource in resources_of(name):
            assert resource.url.rsplit("/", 1)[1] == resource.filename and resource.url.startswith("http")


@pytest.mark.parametrize(("dataset", "shared_file"), [
    ("mnist", "mnist/raw/t10k-images-idx3-ubyte.gz"),
    ("mnist", "mnist/raw/t10k-labels-idx1-ubyte.gz"),
    ("mnist", "mnist/raw/train-labels-idx1-ubyte.gz"),
    ("tiny-shakespeare", "tiny_shakespeare/input.txt"),
    ("airline-passengers", "airline_passengers/airline-passengers.csv"),
])
def test_real_files_put_in_the_cache_are_accepted_by_the_builtin_table(
    dataset, shared_file, shared_data, cache, no_network
):
    original = shared_data / shared_file
    resource = next(r for r in resources_of(dataset) if r.filename == original.name)
    assert resource.sha256 == hashlib.sha256(original.read_bytes()).hexdigest()
    resource.path.parent.mkdir(parents=True)
    shutil.copy(original, resource.path)
    assert fetch(resource) == resource.path


# Extracting


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def link(name: str, kind: bytes, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def test_extract_tar_gz(tmp_path):
    members = [regular("set/train/a.txt", b"alpha"), regular("set/b.txt", b"beta")]
    archive = make_tar(tmp_path / "set.tar.gz", members)
    target = extract(archive, tmp_path / "out")
    assert target == tmp_path / "out"
    assert files_under(target) == ["set", "set/b.txt", "set/train", "set/train/a.txt"]
    assert (target / "set" / "train" / "a.txt").read_bytes() == b"alpha"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "set.tar.gz"]  # no staging left


def test_extract_zip(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("SST-2/train.tsv", "sentence\tlabel\nfine\t1\n")
        bundle.writestr("SST-2/dev.tsv", "sentence\tlabel\n")
    target = extract(archive, tmp_path / "out")
    assert files_under(target) == ["SST-2", "SST-2/dev.tsv", "SST-2/train.tsv"]
    assert (target / "SST-2" / "train.tsv").read_text() == "sentence\tlabel\nfine\t1\n"


def test_an_existing_target_is_returned_without_extracting_again(tmp_path):
    archive = make_tar(tmp_path / "set.tgz", [regular("a.txt", b"alpha")])
    target = extract(archive, tmp_path / "out")
    archive.unlink()
    assert extract(archive, target) == target and (target / "a.txt").read_bytes() == b"alpha"


@pytest.mark.parametrize(("member", "why"), [
    (regular("../evil.txt", b"x"), "path outside the target folder"),
    (regular("ok/../../evil.txt", b"x"), "path outside the target folder"),
    (regular("/tmp/evil.txt", b"x"), "absolute path"),
    (link("evil-link", tarfile.SYMTYPE, "/etc/passwd"), "link"),
    (link("evil-hardlink", tarfile.LNKTYPE, "good.txt"), "link"),
    (link("evil-device", tarfile.CHRTYPE, ""), "device or special file"),
])
def test_unsafe_tar_members_are_refused_and_nothing_is_extracted(tmp_path, member, why):
    archive = make_tar(tmp_path / "evil.tar.gz", [regular("good.txt", b"fine"), member])
    with pytest.raises(TrainlabError) as error:
        extract(archive, tmp_path / "box" / "out")
    assert str(error.value) == (
        f"{archive}: refusing to extract member '{member[0].name}' ({why}); nothing was extracted. "
        "The archive is unsafe or not the expected one: delete it"
    )
    assert files_under(tmp_path / "box") == []  # not even good.txt, and no staging folder
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(("name", "why"), [
    ("../evil.txt", "path outside the target folder"),
    ("/evil.txt", "absolute path"),
])
def test_unsafe_zip_members_are_refused(tmp_path, name, why):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("good.txt", "fine")
        bundle.writestr(zipfile.ZipInfo(name), "evil")
    with pytest.raises(TrainlabError, match=rf"refusing to extract member '{name}' \({why}\)"):
        extract(archive, tmp_path / "box" / "out")
    assert files_under(tmp_path / "box") == []


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    info = zipfile.ZipInfo("evil-link")
    info.external_attr = (0o120777 << 16)  # S_IFLNK | 0777, as `zip --symlinks` writes it
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(info, "/etc/passwd")
    with pytest.raises(TrainlabError, match=r"member 'evil-link' \(link\)"):
        extract(archive, tmp_path / "box" / "out")
    assert files_under(tmp_path / "box") == []


def test_a_rerun_after_an_interrupted_extraction_works(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "set.tar.gz", [regular("a.txt", b"alpha"), regular("b.txt", b"beta")])
    target = tmp_path / "out"

    # Interrupted in this process (Ctrl-C): the staging folder is removed, no target appears.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(tarfile.TarFile, "extractall", interrupted)
        with pytest.raises(KeyboardInterrupt):
            extract(archive, target)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["set.tar.gz"]

    # Killed outright: a half-filled staging folder stays behind; the next run ignores and removes it.
    leftover = tmp_path / ".out.partial-k1ll3d"
    leftover.mkdir()
    (leftover / "a.txt").write_bytes(b"al")
    assert extract(archive, target) == target
    assert files_under(target) == ["a.txt", "b.txt"] and (target / "a.txt").read_bytes() == b"alpha"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "set.tar.gz"]


def test_a_corrupt_or_unknown_archive_is_a_clear_error(tmp_path):
    corrupt = tmp_path / "broken.tar.gz"
    corrupt.write_bytes(b"not a tarball")
    with pytest.raises(TrainlabError, match=r"broken\.tar\.gz: cannot extract \(.*\); delete it"):
        extract(corrupt, tmp_path / "out")
    with pytest.raises(TrainlabError, match=r"unknown archive type"):
        extract(tmp_path / "data.rar", tmp_path / "out")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.tar.gz"]
