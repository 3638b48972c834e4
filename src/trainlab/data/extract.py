"""Safe extraction of a downloaded archive (.tar, .tar.gz, .tgz, .zip, ...) into a folder.

`extract` unpacks an archive the same way `fetch` downloads a file: into a temporary sibling folder,
renamed when complete.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

from trainlab.errors import TrainlabError
from trainlab.runs import give_default_mode

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_STAGING_MARK = ".partial-"


def extract(archive: Path, target: Path) -> Path:
    """Unpack a .tar(.gz/.bz2/.xz), .tgz or .zip archive into the folder `target`; returns `target`.

    An existing `target` is complete (it only appears by a rename at the end) and is returned as is.
    The archive is unpacked into a staging folder `.<target name>.partial-*` next to it, left-overs of
    an interrupted earlier run are removed first. Before anything is written, every member is checked:
    absolute paths, paths that leave `target` (`..`), links and device files are refused.
    """
    if target.is_dir():
        return target
    name = archive.name.lower()
    if not name.endswith((*_TAR_SUFFIXES, ".zip")):
        raise TrainlabError(
            f"{archive}: unknown archive type; expected one of {', '.join((*_TAR_SUFFIXES, '.zip'))}"
        )
    if not archive.is_file():
        raise TrainlabError(f"{archive}: no such archive to extract")
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{target.name}{_STAGING_MARK}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{_STAGING_MARK}"))
    try:
        if name.endswith(".zip"):
            _extract_zip(archive, staging)
        else:
            _extract_tar(archive, staging)
        give_default_mode(staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process finished the same extraction first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _refuse(archive: Path, member: str, why: str) -> TrainlabError:
    return TrainlabError(
        f"{archive}: refusing to extract member '{member}' ({why}); nothing was extracted. "
        "The archive is unsafe or not the expected one: delete it"
    )


def _check_member_path(archive: Path, member: str, root: Path) -> None:
    """Refuse a member name that is absolute or resolves outside `root`."""
    if member.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", member):  # POSIX, Windows root or drive
        raise _refuse(archive, member, "absolute path")
    destination = (root / member).resolve()
    if destination != root and root not in destination.parents:
        raise _refuse(archive, member, "path outside the target folder")


def _unreadable(archive: Path, error: Exception) -> TrainlabError:
    reason = " ".join(str(error).split())  # tarfile lists every method it tried, one per line
    return TrainlabError(f"{archive}: cannot extract ({reason}); delete it so that it is downloaded again")


def _extract_tar(archive: Path, staging: Path) -> None:
    root = staging.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member_path(archive, member.name, root)
                if member.issym() or member.islnk():
                    raise _refuse(archive, member.name, "link")
                if not (member.isfile() or member.isdir()):
                    raise _refuse(archive, member.name, "device or special file")
            # Python's own "data" filter (3.12, backported to 3.10.12/3.11.4) as a second line of defence.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, members=members, filter="data")
            else:
                tar.extractall(staging, members=members)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _unreadable(archive, error) from None


def _extract_zip(archive: Path, staging: Path) -> None:
    root = staging.resolve()
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            for member in members:
                _check_member_path(archive, member.filename, root)
                # Unix file type bits, when the zip was made on Unix (0 when the maker stored none).
                kind = stat.S_IFMT(member.external_attr >> 16)
                if kind == stat.S_IFLNK:
                    raise _refuse(archive, member.filename, "link")
                if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise _refuse(archive, member.filename, "device or special file")
            bundle.extractall(staging, members=members)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise _unreadable(archive, error) from None
