"""Reading a bundle's tar stream with caps: headers whose extensions are bounded, and member
names that stay inside the bundle's folder.

tarfile reads a header extension (pax, GNU long name) or a sparse map whole, so a crafted one
could otherwise fill memory: at most `EXTENSIONS` extensions of at most `HEADER_LIMIT` bytes
each per member, no global headers or sparse files (thirdbook writes none), names of at most
`NAME_LIMIT` characters.
"""

from __future__ import annotations

import tarfile
from pathlib import PurePosixPath
from typing import Any, NoReturn

from thirdbook.domain.errors import BundleError
from thirdbook.evidence.bundle_documents import cut

NAME_LIMIT = 256
HEADER_LIMIT = 64 << 10
EXTENSIONS = 4


class CappedHeader(tarfile.TarInfo):
    """Tar headers read with caps: tarfile reads a header extension (pax, GNU long name) or
    a sparse map whole, so a crafted one could otherwise fill memory."""

    def _proc_member(self, tarfile: Any) -> Any:
        import tarfile as tar

        if self.type == tar.XGLTYPE:  # it would apply to every later member, and accumulate
            raise BundleError("a global tar header is in the bundle: refused unread")
        if self.type == tar.GNUTYPE_SPARSE:
            raise BundleError("a sparse file is in the bundle: refused unread")
        if self.type in (
            tar.XHDTYPE,
            tar.SOLARIS_XHDTYPE,
            tar.GNUTYPE_LONGNAME,
            tar.GNUTYPE_LONGLINK,
        ):
            if self.size > HEADER_LIMIT:
                raise BundleError(
                    f"a tar header extension of {self.size:,} bytes is over "
                    f"{HEADER_LIMIT // 1024} KiB: refused unread"
                )
            # Each extension reads the next header recursively: a run of them is refused.
            extensions = getattr(tarfile, "thirdbook_extensions", 0) + 1
            if extensions > EXTENSIONS:
                raise BundleError(
                    f"a member has over {EXTENSIONS} tar header extensions: refused unread"
                )
            setattr(tarfile, "thirdbook_extensions", extensions)  # noqa: B010
        return super()._proc_member(tarfile)  # type: ignore[misc]

    def _proc_gnusparse_00(self, *_: Any) -> NoReturn:
        raise BundleError("a sparse file is in the bundle: refused unread")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


def safe_name(member: tarfile.TarInfo) -> str:
    """A member's name, normalised, or a refusal: links, devices, escapes and long names."""
    name = member.name
    parts = PurePosixPath(name).parts
    if not (member.isfile() or member.isdir()):
        raise BundleError(
            f"{cut(name)!r} is not a plain file or folder (links and devices are refused)"
        )
    if name.startswith("/") or ".." in parts or not parts or "\\" in name:
        raise BundleError(f"{cut(name)!r} escapes the bundle's folder")
    if len(name) > NAME_LIMIT:
        raise BundleError(
            f"a member's name is {len(name):,} characters, over the {NAME_LIMIT} "
            f"a bundle's names have ({cut(name, 60)!r})"
        )
    return "/".join(parts)
