"""COPY and ADD: where the sources come from, what the cache key covers, the worker's ops.

Sources come from the build context (ignore rules applied), a `--build-context`, an earlier
stage or an image (`--from`), heredocs, or (ADD) http(s) URLs. The cache key covers their
content (context files hashed; a stage or image by its own key; a URL by its checksum or the
downloaded bytes), the destination, owner and mode, so touching a file keeps the cache and
changing one invalidates this step and every later one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pod.builder import containerfile as cf
from pod.builder import words
from pod.builder.context import BuildContext, IgnoreMatcher, sources_digest
from pod.builder.copier import download
from pod.errors import PodError
from pod.image.writer import ImageLayer
from pod.util.records import dataclass, field

if TYPE_CHECKING:
    from pod.builder.session import BuildSession, StageRun
    from pod.builder.working import WorkingImage

_UNSUPPORTED = ("parents", "exclude", "keep-git-dir")


@dataclass
class CopyPlan:
    op: dict
    key_parts: list
    describe: str
    source_layers: list[str] | None = None
    temporary: list[Path] = field(default_factory=list)

    def run(self, builder: BuildSession, work: WorkingImage) -> ImageLayer | None:
        return builder.file_step(work, [self.op], self.source_layers)

    def close(self) -> None:
        for path in self.temporary:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> CopyPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flags(instr: cf.Instruction) -> dict[str, str]:
    flags = dict(instr.flags)
    for name in _UNSUPPORTED:
        if name in flags:
            raise PodError(f"{instr.keyword} --{name} is not supported by pod build")
    if "checksum" in flags and instr.keyword != "ADD":
        raise PodError("--checksum is only valid for ADD")
    return flags


def owner(builder: BuildSession, work: WorkingImage, spec: str) -> tuple[int, int]:
    """--chown user[:group]: numbers as given (a lone uid is also the gid), names from the
    stage's /etc/passwd and /etc/group."""
    from pod.container.user import resolve_user

    user, sep, group = spec.partition(":")
    if user.isdigit() and (not sep or group.isdigit()):
        return int(user), int(group if sep else user)
    resolved = resolve_user(work.layer_dirs(builder.layout), spec)
    return resolved.uid, resolved.gid


def _mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise PodError(f'invalid --chmod "{text}": use an octal mode such as 0755') from None
    if not 0 <= mode <= 0o7777:
        raise PodError(f'invalid --chmod "{text}": use an octal mode such as 0755')
    return mode


def _heredoc_dir(builder: BuildSession, instr: cf.Instruction, env: dict[str, str]) -> Path:
    builder.layout.tmp.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="pod-heredoc-", dir=builder.layout.tmp))
    for doc in instr.heredocs:
        content = doc.content
        if doc.expand:
            content = words.expand(content, env, quotes=False)
        (directory / doc.name).write_text(content)
    return directory


def plan(builder: BuildSession, state: StageRun, instr: cf.Instruction, *, add: bool) -> CopyPlan:
    flags = _flags(instr)
    env = builder.variables(state)
    escape = builder.escape
    if instr.json_args is not None:
        items = [words.expand(item, env, escape) for item in instr.json_args]
    else:
        items = words.expand_words(instr.text, env, escape)
    heredoc_names = {f"<<{d.name}" for d in instr.heredocs} | {
        f"<<-{d.name}" for d in instr.heredocs
    }
    items = [item for item in items if item.strip("'\"") not in heredoc_names]
    if not items or (len(items) < 2 and not instr.heredocs):
        raise PodError(f"{instr.keyword} requires at least two arguments, but got {len(items)}")
    *patterns, dest = items
    work = state.work
    chown = words.expand(flags["chown"], env, escape) if flags.get("chown") else ""
    op: dict = {
        "op": "copy",
        "dest": dest,
        "workdir": work.section.get("WorkingDir") or "/",
        "owner": list(owner(builder, work, chown)) if chown else None,
        "chmod": _mode(flags["chmod"]) if flags.get("chmod") else None,
        "extract": False,
        "ignore": [],
        "sources": patterns,
    }
    key_parts: list = [dest, chown, flags.get("chmod", "")]
    result = CopyPlan(op, key_parts, f"{' '.join(patterns)} {dest}".strip())
    try:
        if instr.heredocs:
            directory = _heredoc_dir(builder, instr, env)
            result.temporary.append(directory)
            op["context"] = str(directory)
            op["sources"] = [doc.name for doc in instr.heredocs]
            key_parts.append([(doc.name, doc.content) for doc in instr.heredocs])
            return result
        source = flags.get("from")
        if source is not None:
            _from_source(builder, state, words.expand(source, env, escape), result)
            return result
        urls = [p for p in patterns if p.startswith(("http://", "https://"))]
        if urls:
            if not add:
                raise PodError("source can't be a URL for COPY")
            _downloaded(builder, urls, patterns, flags.get("checksum"), result)
            return result
        if flags.get("checksum"):
            raise PodError("ADD --checksum is only supported for http(s) sources")
        context = builder.context
        op["context"] = str(context.root)
        op["ignore"] = builder.ignore_patterns
        op["extract"] = add
        found = [item for pattern in patterns for item in context.sources(pattern)]
        key_parts.append(["context", add, sources_digest(found)])
        return result
    except BaseException:
        result.close()
        raise


def _from_source(builder: BuildSession, state: StageRun, name: str, result: CopyPlan) -> None:
    """--from: a named build context, an earlier stage, or an image."""
    if name in builder.options.build_contexts:
        context = BuildContext(builder.options.build_contexts[name], IgnoreMatcher([]))
        result.op["context"] = str(context.root)
        found = [item for pattern in result.op["sources"] for item in context.sources(pattern)]
        result.key_parts.append(["build-context", sources_digest(found)])
        return
    index = builder.stage_index(name, state.index)
    if index is not None:
        stage = builder.results[index]
        if stage is None:
            raise PodError(f'stage "{name}" was not built')
        source = stage.work
    else:
        from pod.builder.working import WorkingImage

        source = WorkingImage.from_image(builder.layout, builder.image(name))
    result.op["context"] = None
    result.source_layers = [str(p) for p in source.layer_dirs(builder.layout)]
    result.key_parts.append(["from", source.key])


def _downloaded(
    builder: BuildSession,
    urls: list[str],
    patterns: list[str],
    checksum: str | None,
    plan: CopyPlan,
) -> None:
    if len(urls) != len(patterns):
        raise PodError("ADD cannot mix URLs and local sources in one instruction")
    builder.layout.tmp.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="pod-add-", dir=builder.layout.tmp))
    plan.temporary.append(directory)
    os.chmod(directory, 0o755)
    names = []
    for url in urls:
        path = download(url, directory, checksum=checksum)
        names.append(path.name)
    found = BuildContext(directory, IgnoreMatcher([]))
    plan.op["context"] = str(directory)
    plan.op["sources"] = names
    plan.key_parts.append(
        ["urls", urls, sources_digest([s for n in names for s in found.sources(n)])]
    )
