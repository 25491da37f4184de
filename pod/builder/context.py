"""The build context: ignore rules, COPY/ADD source lookup and the content digest for the cache.

A context is untrusted input (rule 3): its symlinks may point anywhere, so every lookup goes
through store.safepath and resolves inside the context root, as if it were a chroot. Ignore files
follow moby's patternmatcher, so a `.dockerignore` written for docker behaves the same here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from pod.errors import PodError, UnsafeContentError
from pod.store import safepath
from pod.util.records import dataclass, field

IGNORE_FILES = (".containerignore", ".dockerignore")
_GLOB_META = frozenset("*?[\\")
_CHUNK = 1 << 20
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_UTF8_BOM = "\ufeff"


def go_clean(path: str) -> str:
    """Go's filepath.Clean: like posixpath.normpath, but "//x" is "/x" and "" is "."."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


# --- ignore files -----------------------------------------------------------------------------


def _ignore_file(context_dir: Path, containerfile: Path | None) -> Path | None:
    """The ignore file in force: `<containerfile>.containerignore|.dockerignore` next to the
    Containerfile first (podman/buildah), then `.containerignore`, then `.dockerignore`."""
    if containerfile is not None:
        for suffix in IGNORE_FILES:
            candidate = Path(f"{containerfile}{suffix}")
            if candidate.is_file():
                return candidate
    root = context_dir.resolve()
    for name in IGNORE_FILES:
        # Inside the context a symlinked ignore file resolves within it, like everything else.
        candidate = safepath.resolve_inside(root, name)
        if candidate.is_file():
            return candidate
    return None


def parse_ignore(text: str, origin: str = "ignore file") -> list[str]:
    """moby's ignorefile rules: `#` comments (at the start of the line only), blank lines
    skipped, whitespace trimmed, paths cleaned and made relative, `!` kept as the prefix."""
    patterns = []
    for number, line in enumerate(text.removeprefix(_UTF8_BOM).splitlines(), 1):
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
            if not pattern:
                raise PodError(f'{origin}, line {number}: illegal exclusion pattern: "!"')
        pattern = go_clean(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def load_ignore_patterns(
    context_dir: Path, containerfile: Path | None, ignore_file: Path | None = None
) -> list[str]:
    """The patterns of `ignore_file` (--ignorefile, which must exist), else of the context's
    ignore file ([] without one); see _ignore_file for which."""
    path = ignore_file or _ignore_file(context_dir, containerfile)
    if path is None:
        return []
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as err:
        raise PodError(f"reading {path}: {err.strerror or err}") from None
    return parse_ignore(text, str(path))


# --- pattern matching -------------------------------------------------------------------------


def _bad_pattern(pattern: str) -> PodError:
    return PodError(f"syntax error in pattern {pattern!r}")


def _class_regex(pattern: str, start: int) -> tuple[str, int]:
    """A Go filepath.Match character class starting after its `[`: the regex and the next index.

    Go's grammar: an optional `^`, then ranges `c` or `lo-hi` where `\\` escapes, `]` ends it
    (not as the first item) and an unescaped `-` or `]` where a character is expected is an error.
    """
    i, out = start, "["
    if i < len(pattern) and pattern[i] == "^":
        out += "^"
        i += 1
    ranges = 0

    def char(i: int) -> tuple[str, int]:
        if i >= len(pattern) or pattern[i] in "-]":
            raise _bad_pattern(pattern)
        if pattern[i] == "\\":
            i += 1
            if i >= len(pattern):
                raise _bad_pattern(pattern)
        return pattern[i], i + 1

    while True:
        if i < len(pattern) and pattern[i] == "]" and ranges:
            return out + "]", i + 1
        lo, i = char(i)
        hi = lo
        if i < len(pattern) and pattern[i] == "-":
            hi, i = char(i + 1)
        if hi < lo:
            raise _bad_pattern(pattern)
        out += re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}"
        ranges += 1


def element_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match for one path element, as a regex (use fullmatch)."""
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[":
            part, i = _class_regex(pattern, i)
            out += part
        elif ch == "\\":
            if i >= len(pattern):
                raise _bad_pattern(pattern)
            out += re.escape(pattern[i])
            i += 1
        else:
            out += re.escape(ch)
    return re.compile(out, re.DOTALL)


def has_glob(pattern: str) -> bool:
    return any(ch in _GLOB_META for ch in pattern)


@dataclass
class _Pattern:
    """One ignore pattern, compiled the way moby's patternmatcher does.

    moby turns the pattern into a regex where `*` and `?` stay within one element and `**`
    spans directories, with shortcuts for literal patterns (exact), `foo/**` (prefix) and
    `**/foo` (suffix). Escapes here mean the literal character (moby passes `\\d` to Go's
    regexp, which makes it a digit class: a bug not worth copying).
    """

    text: str
    exclusion: bool
    kind: str = "exact"
    regex: re.Pattern[str] | None = None
    dirs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dirs = self.text.split("/")
        out, kind, pattern, i, first = "", "exact", self.text, 0, True
        while i < len(pattern):
            ch = pattern[i]
            i += 1
            if ch == "*" and i < len(pattern) and pattern[i] == "*":
                i += 1
                if i < len(pattern) and pattern[i] == "/":
                    i += 1
                if i >= len(pattern):
                    kind, out = ("prefix", out) if kind == "exact" else ("regex", out + ".*")
                else:
                    kind, out = "regex", out + "(?:.*/)?"
                if first:
                    kind = "suffix"
            elif ch == "*":
                kind, out = "regex", out + "[^/]*"
            elif ch == "?":
                kind, out = "regex", out + "[^/]"
            elif ch == "[":
                part, i = _class_regex(pattern, i)
                kind, out = "regex", out + part
            elif ch == "\\" and i < len(pattern):
                kind, out = "regex", out + re.escape(pattern[i])
                i += 1
            else:
                out += re.escape(ch)
            first = False
        self.kind = kind
        if kind == "regex":
            try:
                self.regex = re.compile(out, re.DOTALL)
            except re.error:
                raise _bad_pattern(self.text) from None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.fullmatch(path) is not None

    def may_match_below(self, parts: list[str]) -> bool:
        """Whether this pattern could match an entry under the directory `parts` (or the
        directory itself or an ancestor, which re-includes all of it): conservative."""
        for i, pdir in enumerate(self.dirs):
            if "**" in pdir or i >= len(parts):
                return True
            try:
                if not element_regex(pdir).fullmatch(parts[i]):
                    return False
            except PodError:
                return True
        return True


class IgnoreMatcher:
    """moby's patternmatcher: is a context path excluded by the ignore patterns?

    A pattern matching a path or any of its parent directories applies to it; patterns are
    evaluated in order and the last one that applies wins (`!` re-includes).
    """

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:]
                if not text:
                    raise PodError('illegal exclusion pattern: "!"')
            self.patterns.append(_Pattern(text, exclusion))
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, rel: str) -> bool:
        """Whether the context-relative path `rel` is left out of the context."""
        if not self.patterns:
            return False
        path = go_clean(rel).lstrip("/")
        if path in ("", "."):
            return False  # moby: the context root itself cannot be excluded
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        for pattern in self.patterns:
            # An include that already matched, or an exception with nothing to undo: skip.
            if pattern.exclusion != matched:
                continue
            if pattern.match(path) or any(pattern.match(p) for p in prefixes):
                matched = not pattern.exclusion
        return matched

    def may_contain_included(self, rel_dir: str) -> bool:
        """Whether an excluded directory may still hold entries that a `!` pattern re-includes
        (a walker must then descend into it rather than skip it)."""
        if not self.has_exclusions:
            return False
        parts = [p for p in go_clean(rel_dir).split("/") if p not in ("", ".")]
        return any(p.exclusion and p.may_match_below(parts) for p in self.patterns)


# --- walking a source tree --------------------------------------------------------------------


def join_rel(base: str, name: str) -> str:
    """`base/name` for context-relative paths, where "" and "." stand for the root."""
    return name if base in ("", ".") else f"{base}/{name}" if name else base


@dataclass
class TreeEntry:
    """One entry of a walked directory tree.

    `rel` is relative to the walked top, `dir_fd` the open directory holding `name` (valid
    until the walk moves on), `st` its lstat. `excluded` marks a directory that is itself
    ignored but walked because a `!` pattern may re-include something below it.
    """

    rel: str
    name: str
    dir_fd: int
    st: os.stat_result
    excluded: bool = False


def walk_tree(top: Path, ctx_rel: str, matcher: IgnoreMatcher | None) -> Iterator[TreeEntry]:
    """Every entry below `top` (not `top` itself), directory by directory in sorted order:
    a directory's entries come together, each subdirectory's after them.

    `ctx_rel` is `top` relative to the context root, which is what ignore patterns match.
    Symlinks are entries, never followed; only one directory fd is open at a time, so depth
    costs no descriptors.
    """
    top_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        pending = [""]
        while pending:
            rel = pending.pop()
            fd = safepath.open_dir(top_fd, rel, symlinks=False) if rel else os.dup(top_fd)
            try:
                with contextlib.closing(os.scandir(fd)) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
                subdirs = []
                for entry in entries:
                    child = join_rel(rel, entry.name)
                    st = entry.stat(follow_symlinks=False)
                    is_dir = stat.S_ISDIR(st.st_mode)
                    excluded = False
                    if matcher:
                        ctx = join_rel(ctx_rel, child)
                        if matcher.excluded(ctx):
                            if not (is_dir and matcher.may_contain_included(ctx)):
                                continue
                            excluded = True
                    yield TreeEntry(child, entry.name, fd, st, excluded)
                    if is_dir:
                        subdirs.append(child)
                pending.extend(reversed(subdirs))
            finally:
                os.close(fd)
    finally:
        os.close(top_fd)


# --- the context ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A COPY/ADD source found in the context.

    `path` is the host path, every symlink already resolved inside the context; `rel` the name
    as matched (its last component names a file copied into a directory); `real_rel` where it
    really is in the context, which is what ignore patterns see below it; `matcher` the
    context's ignore rules, so a walk below the source (the copy, the digest) skips the same.
    """

    path: Path
    rel: str
    real_rel: str
    matcher: IgnoreMatcher | None = field(default=None, compare=False, repr=False)


def _type_char(mode: int) -> str:
    for test, char in (
        (stat.S_ISREG, "f"),
        (stat.S_ISDIR, "d"),
        (stat.S_ISLNK, "l"),
        (stat.S_ISFIFO, "p"),
        (stat.S_ISCHR, "c"),
        (stat.S_ISBLK, "b"),
        (stat.S_ISSOCK, "s"),
    ):
        if test(mode):
            return char
    return "?"


def _file_sha256(name: str, dir_fd: int | None) -> str:
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the walk saw it
            raise PodError(f"{name}: changed while the build context was read")
        sha = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            sha.update(chunk)
        return sha.hexdigest()
    finally:
        os.close(fd)


def _entry_record(rel: str, st: os.stat_result, name: str, dir_fd: int | None) -> bytes:
    """What the cache sees of one entry: name, type, permission bits, content or link target.
    Owners and times are left out, so a `touch` or a checkout keeps the cache."""
    kind = _type_char(st.st_mode)
    extra = ""
    if kind == "f":
        extra = _file_sha256(name, dir_fd)
    elif kind == "l":
        extra = os.readlink(name, dir_fd=dir_fd)
    elif kind in "cb":
        extra = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    record = f"{rel}\0{kind}\0{stat.S_IMODE(st.st_mode):o}\0{extra}\n"
    return record.encode("utf-8", "surrogateescape")


def sources_digest(sources: list[Source]) -> str:
    """A content hash of everything the sources would copy, for the build cache.

    Per entry (sorted walk, ignored entries skipped): its name, type, permission bits, content
    hash or link target. Owners and times are left out: a `touch` keeps the cache valid.
    """
    sha = hashlib.sha256()
    try:
        for src in sources:
            st = src.path.lstat()
            sha.update(f"source\0{src.rel}\n".encode("utf-8", "surrogateescape"))
            if not stat.S_ISDIR(st.st_mode):
                sha.update(_entry_record(".", st, str(src.path), None))
                continue
            # A directory source copies its contents: its own mode and times do not count.
            for entry in walk_tree(src.path, src.real_rel, src.matcher):
                if not entry.excluded:
                    sha.update(_entry_record(entry.rel, entry.st, entry.name, entry.dir_fd))
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise PodError(f"reading the build context: {err.strerror or err}{where}") from None
    return f"sha256:{sha.hexdigest()}"


@dataclass
class BuildContext:
    """The context directory of a build and its ignore rules.

    `root` is made the directory's resolved real path: sources are confined below it.
    """

    root: Path
    matcher: IgnoreMatcher = field(default_factory=lambda: IgnoreMatcher([]))

    def __post_init__(self) -> None:
        try:
            root = Path(self.root).resolve(strict=True)
        except OSError as err:
            raise PodError(f"build context {self.root}: {err.strerror or err}") from None
        if not root.is_dir():
            raise PodError(f"build context {self.root} is not a directory")
        self.root = root

    @classmethod
    def load(cls, context_dir: Path, containerfile: Path | None = None) -> BuildContext:
        """Open `context_dir` with the ignore file that applies (see load_ignore_patterns)."""
        return cls(context_dir, IgnoreMatcher(load_ignore_patterns(context_dir, containerfile)))

    def _excluded(self, rel: str) -> bool:
        return bool(self.matcher) and self.matcher.excluded(rel)

    def _expand(self, root_fd: int, candidates: list[str], part: str) -> list[str]:
        """The next step of a lookup: `part` is literal or a glob matched against listings."""
        if not has_glob(part):
            return [join_rel(c, part) for c in candidates]
        regex = element_regex(part)
        found = []
        for base in candidates:
            try:
                fd = safepath.open_dir(root_fd, base)
            except (OSError, UnsafeContentError):
                continue  # missing, not a directory, or a symlink loop: nothing to match
            try:
                names = sorted(os.listdir(fd))
            finally:
                os.close(fd)
            for name in names:
                rel = join_rel(base, name)
                if regex.fullmatch(name) and not self._excluded(rel):
                    found.append(rel)
        return found

    def _source(self, rel: str) -> Source | None:
        """`rel` resolved inside the root, or None when missing or ignored."""
        if self._excluded(rel):
            return None
        try:
            path = safepath.resolve_inside(self.root, rel)
            path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        real_rel = path.relative_to(self.root).as_posix()
        if self._excluded(real_rel):
            return None  # reached through a symlink, but docker would not have sent it
        return Source(path, rel or ".", real_rel, self.matcher)

    def sources(self, pattern: str) -> list[Source]:
        """The context entries a COPY/ADD source names: globs expanded per path element,
        `..` kept inside the root (as BuildKit does), ignored entries left out."""
        cleaned = posixpath.normpath("/" + pattern).lstrip("/")
        parts = safepath.split_path(cleaned)
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            candidates = [""]
            for part in parts:
                candidates = self._expand(root_fd, candidates, part)
        finally:
            os.close(root_fd)
        found = [src for rel in candidates if (src := self._source(rel)) is not None]
        if not found:
            raise PodError(
                f'checking on sources under "{self.root}": copier: stat: "/{cleaned}": '
                "no such file or directory"
            )
        return found

    def sources_digest(self, sources: list[Source]) -> str:
        """sources_digest(), for sources of this context."""
        return sources_digest(sources)
