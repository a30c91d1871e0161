"""Content-addressed evidence objects: named by SHA-256, written once, read-only, never replaced.

An object is streamed into a temporary file while it is hashed (bounded memory, whatever its
size), flushed to disk, made read-only (0444), and then linked into place under its hash. A
name that already exists is never replaced: the same bytes are already there. Object
directories are 0755, so no other user can write into them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from thirdbook import locations

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK = 1 << 20
Fill = Callable[[int, "_Hash"], int]
"""Writes an object's bytes to a file descriptor, feeding the hash; returns the size."""


class EvidenceWriteError(Exception):
    """Evidence could not be stored (a full disk, a directory that cannot be written). Not an
    `OSError`, so that no caller mistakes it for a source file that could not be read: the
    step that was keeping the evidence fails, and nothing is recorded as kept."""


@contextlib.contextmanager
def _storing(root: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0)
        why = f"{exc.strerror or exc}{f' ({code})' if code else ''}"
        raise EvidenceWriteError(f"cannot store evidence in {root}: {why}") from exc


class ObjectRef(BaseModel):
    """A stored object: its hash and size."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    sha256: str
    size: int


def chunks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """A file's bytes [start, end) in chunks (bounded memory, whatever the file's size)."""
    with path.open("rb") as f:
        f.seek(start)
        remaining = None if end is None else max(0, end - start)
        while remaining is None or remaining > 0:
            chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                return
            yield chunk
            if remaining is not None:
                remaining -= len(chunk)


def hash_file(path: Path, start: int = 0, end: int | None = None) -> ObjectRef:
    """The SHA-256 of a file's bytes [start, end), streamed."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks(path, start, end):
        digest.update(chunk)
        size += len(chunk)
    return ObjectRef(sha256=digest.hexdigest(), size=size)


class ObjectStore:
    """Objects under `root/objects/ab/cdef…`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.scratch = root / "tmp"

    def path_of(self, sha256: str) -> Path:
        """Where an object lives."""
        return locations.evidence_object(self.root, sha256)

    def has(self, sha256: str) -> bool:
        """Whether the object is stored."""
        return self.path_of(sha256).is_file()

    def put_bytes(self, data: bytes) -> ObjectRef:
        """Store bytes."""
        return self._put(lambda out, digest: self._write(out, digest, data))

    def put_file(self, path: Path, start: int = 0, end: int | None = None) -> ObjectRef:
        """Store a copy of a file's bytes [start, end): copied, never linked, so a file that
        keeps growing or changing cannot change the evidence."""

        def copy(out: int, digest: _Hash) -> int:
            return sum(self._write(out, digest, chunk) for chunk in chunks(path, start, end))

        return self._put(copy)

    def _write(self, out: int, digest: _Hash, data: bytes) -> int:
        digest.update(data)
        view = memoryview(data)
        with _storing(self.root):
            while view:
                written = os.write(out, view)
                view = view[written:]
        return len(data)

    def _put(self, fill: Fill) -> ObjectRef:
        writer = self.writer()
        try:
            writer.size = fill(writer.fd, writer.digest)
        except BaseException:
            writer.abandon()
            raise
        return writer.close()

    def writer(self) -> ObjectWriter:
        """An object written piece by piece (hashed as it is written, in one pass)."""
        with _storing(self.root):
            self.scratch.mkdir(parents=True, exist_ok=True, mode=0o755)
            fd, temp = tempfile.mkstemp(dir=self.scratch, prefix="incoming-")
        return ObjectWriter(self, fd, temp)

    def verify(self, ref: ObjectRef) -> str | None:
        """None if the object is there with its hash and size; else what is wrong."""
        path = self.path_of(ref.sha256)
        if not path.is_file():
            return f"object {ref.sha256} is missing"
        found = hash_file(path)
        if found.sha256 != ref.sha256:
            return f"object {ref.sha256} has changed (its bytes now hash to {found.sha256})"
        if found.size != ref.size:
            return f"object {ref.sha256} is {found.size} bytes, not {ref.size}"
        return None


class ObjectWriter:
    """An object being written: `write` pieces, then `close` stores it (or `abandon`)."""

    def __init__(self, store: ObjectStore, fd: int, temp: str) -> None:
        self.store, self.fd, self.temp = store, fd, temp
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append bytes (hashed as they go)."""
        self.size += self.store._write(self.fd, self.digest, data)

    def abandon(self) -> None:
        """Throw the partial object away."""
        os.close(self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)

    def close(self) -> ObjectRef:
        """Flush it to disk, make it read-only and link it in under its hash."""
        try:
            with _storing(self.store.root):
                os.fsync(self.fd)
        except BaseException:
            self.abandon()
            raise
        os.close(self.fd)
        sha = self.digest.hexdigest()
        target = self.store.path_of(sha)
        try:
            with _storing(self.store.root):
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                os.chmod(self.temp, 0o444)
                try:
                    os.link(self.temp, target)  # fails if it exists: never replaced
                    _fsync_dir(target.parent)
                except FileExistsError:
                    pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)
        return ObjectRef(sha256=sha, size=self.size)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
