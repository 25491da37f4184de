"""COPY and ADD into a container root filesystem, with Docker's rules.

The root is untrusted (rule 3): an image may hold `/dest -> /etc` or `/app -> /`. Every
destination is resolved inside the root with store.safepath and acted on with *at() calls and
no-follow flags, so a symlink in the image resolves within the root, like a chroot, and an
existing entry is replaced, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import posixpath
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO

from pod.builder.context import IgnoreMatcher, Source, join_rel, walk_tree
from pod.errors import PodError, UnsafeContentError
from pod.store import safepath
from pod.util.archive import decode_errors, decompressed, is_tar_archive

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20
_NO_COPY_RANGE = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM)
_MULTI_SOURCE = (
    "When using COPY with more than one source file, the destination must be a directory "
    "and end with a /"
)
DOWNLOAD_TIMEOUT = 60.0
_DIGESTS = ("sha256", "sha384", "sha512")


def _dest_rel(dest: str, workdir: str) -> tuple[str, bool]:
    """The destination relative to the root, and whether it names a directory by its form
    (a trailing `/`, or `.`/`..` as the last element: imagebuilder reads `.` as the workdir)."""
    dir_like = dest in ("", ".", "..") or dest.endswith(("/", "/.", "/.."))
    path = posixpath.normpath(posixpath.join("/", workdir or "/", dest or "."))
    return path.lstrip("/"), dir_like


def _owner_ids(owner: tuple[int, int] | None) -> tuple[int, int]:
    return owner if owner is not None else (0, 0)


def _copy_data(src: int, dst: int) -> None:
    """Kernel-side copy (reflinks where the filesystem has them), read/write as the fallback."""
    try:
        while os.copy_file_range(src, dst, _CHUNK * 64):
            pass
        return
    except OSError as err:
        if err.errno not in _NO_COPY_RANGE:
            raise
    # Both offsets advanced by what was copied so far: carry on from there.
    while data := os.read(src, _CHUNK):
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view) :]


class _Copier:
    """Copies host entries into `root`, creating what is missing as `uid:gid`."""

    def __init__(self, root: Path, uid: int, gid: int, chmod: int | None) -> None:
        self.root = root
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.uid, self.gid = uid, gid
        self.chmod = chmod
        self.dirs: list[tuple[str, safepath.DirMeta]] = []
        self.excluded_dirs: list[str] = []
        # Hardlinked sources of this COPY: (dev, ino) → the first copy (its path in the root
        # and identity), which later names of the same file link to, as podman keeps them.
        self.links: dict[tuple[int, int], tuple[str, tuple[int, int]]] = {}

    def close(self) -> None:
        os.close(self.root_fd)

    # -- destination directories

    def is_dir(self, rel: str) -> bool:
        """Whether `rel` is a directory, symlinks followed within the root."""
        try:
            os.close(safepath.open_dir(self.root_fd, rel))
        except (OSError, UnsafeContentError):
            return False
        return True

    def ensure_dir(self, rel: str) -> int:
        """An fd for the directory `rel`, made (0755, our owner) where missing.

        Symlinks already in the root are resolved within it first; the creation then goes
        one O_NOFOLLOW step at a time along that symlink-free path, so a link swapped in
        meanwhile makes it fail instead of leading out.
        """
        try:
            real = safepath.resolve_inside(self.root, rel)
        except NotADirectoryError:
            raise PodError(f"destination /{rel}: a parent is not a directory") from None
        fd = os.dup(self.root_fd)
        try:
            for part in real.relative_to(self.root).parts:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    os.fchown(child, self.uid, self.gid)
                    os.fchmod(child, 0o755)  # not the umask's idea of it
                except NotADirectoryError:
                    raise PodError(f"destination /{rel}: /{part} is not a directory") from None
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _clear(self, pfd: int, name: str) -> None:
        """Make room for a new non-directory: the old entry is removed, not written through."""
        with contextlib.suppress(FileNotFoundError):
            safepath.remove_entry(pfd, name)

    def _subdir(self, pfd: int, name: str, rel: str, st: os.stat_result, excluded: bool) -> None:
        """Make or merge the directory `rel` (= `name` in `pfd`) for a copied directory.

        An existing directory is merged into; a symlink to a directory (usrmerge's /lib) is
        followed within the root and merged into, its target's metadata left alone.
        """
        try:
            old = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISLNK(old.st_mode) and self.is_dir(rel):
            return
        if old is not None and not stat.S_ISDIR(old.st_mode):
            safepath.remove_entry(pfd, name)
            old = None
        if old is None:
            os.mkdir(name, 0o700, dir_fd=pfd)
            if excluded:
                self.excluded_dirs.append(rel)
        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        try:
            os.fchown(fd, self.uid, self.gid)
            mode = self.chmod if self.chmod is not None else stat.S_IMODE(st.st_mode)
            self.dirs.append((rel, safepath.DirMeta(safepath.identity(fd), mode, st.st_mtime_ns)))
        finally:
            os.close(fd)

    # -- entries

    def entry(
        self, src_fd: int, src_name: str, st: os.stat_result, pfd: int, name: str, rel: str
    ) -> None:
        """Copy one non-directory `src_name` (in `src_fd`) to `name` in the directory `pfd`
        (`rel` in the root)."""
        mode = self.chmod if self.chmod is not None else stat.S_IMODE(st.st_mode)
        times = (st.st_atime_ns, st.st_mtime_ns)
        if stat.S_ISREG(st.st_mode):
            if not (st.st_nlink > 1 and self._link(st, pfd, name)):
                self._file(src_fd, src_name, pfd, name, mode, times)
                if st.st_nlink > 1:
                    made = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    self.links[(st.st_dev, st.st_ino)] = (rel, (made.st_dev, made.st_ino))
        elif stat.S_ISLNK(st.st_mode):
            target = os.readlink(src_name, dir_fd=src_fd)
            self._clear(pfd, name)
            os.symlink(target, name, dir_fd=pfd)
            os.chown(name, self.uid, self.gid, dir_fd=pfd, follow_symlinks=False)
            os.utime(name, ns=times, dir_fd=pfd, follow_symlinks=False)
        elif stat.S_ISFIFO(st.st_mode):
            self._clear(pfd, name)
            os.mkfifo(name, 0o600, dir_fd=pfd)
            self._finish_node(pfd, name, mode, times)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            self._clear(pfd, name)
            try:
                os.mknod(name, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev, dir_fd=pfd)
            except PermissionError:
                return  # no CAP_MKNOD (rootless): skipped, as podman does
            self._finish_node(pfd, name, mode, times)
        # Sockets (and anything stranger) are not copied: they mean nothing in an image.

    def _link(self, st: os.stat_result, pfd: int, name: str) -> bool:
        """Another name of a file this COPY copied already: a hard link to that copy (False
        when there is none, or it was replaced meanwhile)."""
        first = self.links.get((st.st_dev, st.st_ino))
        if first is None:
            return False
        rel, made = first
        try:
            ffd, fname = safepath.open_parent(self.root_fd, rel)
        except (OSError, UnsafeContentError):
            return False
        try:
            now = os.stat(fname, dir_fd=ffd, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != made:
                return False
            self._clear(pfd, name)
            os.link(fname, name, src_dir_fd=ffd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        finally:
            os.close(ffd)
        return True

    def _file(
        self, src_fd: int, src_name: str, pfd: int, name: str, mode: int, times: tuple[int, int]
    ) -> None:
        src = os.open(src_name, _READ_FLAGS, dir_fd=src_fd)
        try:
            if not stat.S_ISREG(os.fstat(src).st_mode):
                raise PodError(f"{src_name}: changed while it was being copied")
            self._clear(pfd, name)
            dst = os.open(name, _WRITE_FLAGS, 0o600, dir_fd=pfd)
            try:
                _copy_data(src, dst)
                # Owner first: chown clears setuid bits.
                os.fchown(dst, self.uid, self.gid)
                os.fchmod(dst, mode)
                os.utime(dst, ns=times)
            finally:
                os.close(dst)
        finally:
            os.close(src)

    def _finish_node(self, pfd: int, name: str, mode: int, times: tuple[int, int]) -> None:
        os.chown(name, self.uid, self.gid, dir_fd=pfd, follow_symlinks=False)
        # Follows a link, but `name` is the node just made and nothing else writes here.
        os.chmod(name, mode, dir_fd=pfd)
        os.utime(name, ns=times, dir_fd=pfd, follow_symlinks=False)

    # -- whole sources

    def copy_file(self, src: Source, target: str) -> None:
        """A top-level non-directory source to the path `target` in the root."""
        parent, _, name = target.rpartition("/")
        if not name:
            raise PodError(f"cannot copy {src.rel} onto the root directory")
        sfd = os.open(src.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            st = os.stat(src.path.name, dir_fd=sfd, follow_symlinks=False)
            pfd = self.ensure_dir(parent)
            try:
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISDIR(os.stat(name, dir_fd=pfd, follow_symlinks=False).st_mode):
                        raise PodError(f"cannot copy {src.rel} onto the directory /{target}")
                self.entry(sfd, src.path.name, st, pfd, name, target)
            finally:
                os.close(pfd)
        finally:
            os.close(sfd)

    def copy_tree(self, src: Source, dest: str, matcher: IgnoreMatcher | None) -> None:
        """The contents of the directory source into the directory `dest` (merged)."""
        os.close(self.ensure_dir(dest))
        parent: tuple[str, int] | None = None
        try:
            for entry in walk_tree(src.path, src.real_rel, matcher):
                rel = join_rel(dest, entry.rel)
                prel, _, name = rel.rpartition("/")
                if parent is None or parent[0] != prel:
                    if parent is not None:
                        os.close(parent[1])
                        parent = None
                    parent = (prel, safepath.open_dir(self.root_fd, prel))
                if stat.S_ISDIR(entry.st.st_mode):
                    self._subdir(parent[1], name, rel, entry.st, entry.excluded)
                else:
                    self.entry(entry.dir_fd, entry.name, entry.st, parent[1], name, rel)
        finally:
            if parent is not None:
                os.close(parent[1])

    def finish(self) -> None:
        """Drop walked-but-ignored directories left empty, then set directory modes and times."""
        for rel in reversed(self.excluded_dirs):
            pfd, name = safepath.open_parent(self.root_fd, rel)
            try:
                os.rmdir(name, dir_fd=pfd)
            except OSError:
                pass  # something was re-included in it: it stays
            finally:
                os.close(pfd)
        safepath.restore_dir_metadata(self.root_fd, reversed(self.dirs))


def copy_sources(
    root: Path,
    sources: list[Source],
    dest: str,
    *,
    workdir: str,
    owner: tuple[int, int] | None,
    chmod: int | None,
    matcher: IgnoreMatcher | None,
) -> None:
    """COPY (and ADD of local non-archives) `sources` to `dest` inside `root`, as Docker does.

    A directory source copies its contents; a file goes to `dest/<name>` when `dest` ends in
    `/`, is an existing directory or there are several sources, else to `dest` itself. Entries
    are owned by `owner` (else 0:0), keep their permission bits (unless `chmod`) and mtimes.
    """
    rel, dir_like = _dest_rel(dest, workdir)
    if len(sources) > 1 and not dir_like:
        raise PodError(_MULTI_SOURCE)
    uid, gid = _owner_ids(owner)
    copier = _Copier(root, uid, gid, chmod)
    try:
        for src in sources:
            if stat.S_ISDIR(src.path.lstat().st_mode):
                copier.copy_tree(src, rel, matcher)
            elif dir_like or copier.is_dir(rel):
                copier.copy_file(src, join_rel(rel, posixpath.basename(src.rel)))
            else:
                copier.copy_file(src, rel)
        copier.finish()
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise PodError(f"copying to {dest}: {err.strerror or err}{where}") from None
    finally:
        copier.close()


def make_dirs(root: Path, path: str, *, owner: tuple[int, int] | None, workdir: str = "/") -> None:
    """WORKDIR: make `path` and its missing parents inside `root` (0755, `owner` else 0:0);
    existing directories, symlinks to directories within the root included, are left as
    they are."""
    rel, _ = _dest_rel(path, workdir)
    uid, gid = _owner_ids(owner)
    copier = _Copier(root, uid, gid, None)
    try:
        os.close(copier.ensure_dir(rel))
    except OSError as err:
        raise PodError(f"creating {path}: {err.strerror or err}") from None
    finally:
        copier.close()


# --- ADD: local archives ----------------------------------------------------------------------


def extract_archive(
    root: Path, archive: Path, dest: str, *, workdir: str, owner: tuple[int, int] | None
) -> bool:
    """ADD's local-archive rule: extract a tar (plain, gzip, bzip2, xz, zstd) into the
    directory `dest` in `root` and return True, or return False for anything else.

    Every member is resolved inside `dest` (absolute names, `..`, symlinks and hardlinks
    cannot leave it: a hostile member is an error). Owners come from the tar unless `owner`
    is given; device nodes are skipped.
    """
    if not is_tar_archive(archive):
        return False
    from pod.store.layers import extract_tar_stream

    rel, _ = _dest_rel(dest, workdir)
    uid, gid = _owner_ids(owner)
    copier = _Copier(root, uid, gid, None)
    try:
        dest_fd = copier.ensure_dir(rel)
        try:
            with open(archive, "rb") as raw:
                # rootless=True is the layer extractor's "no device nodes" mode.
                extract_tar_stream(decompressed(raw), dest_fd, rootless=True, owner=owner)
        finally:
            os.close(dest_fd)
    except PodError:
        raise
    except decode_errors() as err:
        raise PodError(f"ADD {archive.name}: cannot extract the archive: {err}") from None
    finally:
        copier.close()
    return True


# --- ADD: URLs --------------------------------------------------------------------------------


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed, but only to http and https (urllib also allows ftp)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise PodError(f"ADD {req.full_url}: redirected to unsupported URL {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, hexdigest = checksum.partition(":")
    size = hashlib.new(algorithm).digest_size * 2 if algorithm in _DIGESTS else 0
    hexdigest = hexdigest.lower()
    if not size or len(hexdigest) != size or not all(c in "0123456789abcdef" for c in hexdigest):
        raise PodError(f"invalid --checksum {checksum!r}: want sha256:<64 hex digits>")
    return algorithm, hexdigest


def download_name(url: str) -> str:
    """The file name ADD gives a download: the URL path's last element, else "download"."""
    last = urllib.parse.unquote(urllib.parse.urlsplit(url).path).rpartition("/")[2]
    return "download" if last in ("", ".", "..") or "\0" in last else last


def download(url: str, dest_dir: Path, *, checksum: str | None) -> Path:
    """Fetch `url` (http or https) into `dest_dir` for `ADD <url>`: streamed to a temp file,
    the `--checksum` verified, then renamed to its name; mtime from Last-Modified."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise PodError(f"ADD {url}: only http and https URLs can be downloaded")
    expected = _parse_checksum(checksum) if checksum else None
    hasher = hashlib.new(expected[0] if expected else "sha256")
    opener = urllib.request.build_opener(_SafeRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "pod"})
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=dest_dir)  # 0600, as docker's
    try:
        with open(fd, "wb") as out:
            try:
                with opener.open(request, timeout=DOWNLOAD_TIMEOUT) as response:
                    while chunk := response.read(_CHUNK):
                        hasher.update(chunk)
                        out.write(chunk)
                    modified = response.headers.get("Last-Modified")
            except urllib.error.HTTPError as err:
                raise PodError(f"ADD {url}: HTTP {err.code} {err.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                reason = getattr(err, "reason", None) or err
                raise PodError(f"ADD {url}: download failed: {reason}") from None
        if expected is not None and hasher.hexdigest() != expected[1]:
            got = f"{expected[0]}:{hasher.hexdigest()}"
            raise PodError(
                f"ADD {url}: checksum mismatch: expected {expected[0]}:{expected[1]}, got {got}"
            )
        if modified:
            with contextlib.suppress(TypeError, ValueError, OverflowError):
                when = parsedate_to_datetime(modified).timestamp()
                os.utime(tmp, (when, when))
        target = dest_dir / download_name(url)
        os.replace(tmp, target)
        return target
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
