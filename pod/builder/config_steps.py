"""Instructions that change only the image config, applied to a WorkingImage.

`pod build` runs them as steps; `pod commit -c/--change` applies the same ones to a container's
image, so both follow one set of rules (Docker's).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from pod.builder import containerfile as cf
from pod.builder import words
from pod.builder.working import WorkingImage
from pod.errors import PodError

Env = dict[str, str]


def _env(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    for key, value in words.key_values(instr.text, env, escape, legacy=True):
        work.set_env(key, value)
    return work.section.get("Env")


def _label(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    labels = dict(work.section.get("Labels") or {})
    labels.update(words.key_values(instr.text, env, escape, legacy=True, instruction="LABEL"))
    work.section["Labels"] = labels
    return sorted(labels.items())


def _maintainer(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.config["author"] = instr.text
    return instr.text


def _user(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.section["User"] = words.expand(instr.text, env, escape)
    return work.section["User"]


def _cmd(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.section["Cmd"] = cf.exec_or_shell(instr, work.shell)
    work.cmd_set = True
    return work.section["Cmd"]


def _entrypoint(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.section["Entrypoint"] = cf.exec_or_shell(instr, work.shell)
    if not work.cmd_set:  # Docker: a new ENTRYPOINT drops the base image's CMD
        work.section.pop("Cmd", None)
    return work.section["Entrypoint"]


def _shell(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.shell = cf.parse_shell(instr)
    work.section["Shell"] = list(work.shell)
    return work.shell


def exposed_port(word: str) -> str:
    """`80`, `53/udp`, `8000-8002/tcp` → the ExposedPorts key."""
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp") or not all(
        part.isdigit() and 0 < int(part) < 65536 for part in port.split("-", 1)
    ):
        raise PodError(f'invalid port "{word}" in EXPOSE')
    return f"{port}/{proto}"


def _expose(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    ports = dict(work.section.get("ExposedPorts") or {})
    for word in words.expand_words(instr.text, env, escape, resplit=True):
        ports[exposed_port(word)] = {}
    work.section["ExposedPorts"] = ports
    return sorted(ports)


def _volume(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    paths = (
        [words.expand(item, env, escape) for item in instr.json_args]
        if instr.json_args is not None
        else words.expand_words(instr.text, env, escape)
    )
    if not paths or any(not path for path in paths):
        raise PodError("VOLUME specified can not be an empty string")
    volumes = dict(work.section.get("Volumes") or {})
    volumes.update((path, {}) for path in paths)
    work.section["Volumes"] = volumes
    return sorted(volumes)


def _stopsignal(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    from pod.util.signals import parse_signal

    value = words.expand(instr.text, env, escape)
    parse_signal(value)  # an unknown signal is an error now, not at `pod stop`
    work.section["StopSignal"] = value
    return value


def _healthcheck(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    work.section["Healthcheck"] = cf.healthcheck(instr)
    return work.section["Healthcheck"]


def _onbuild(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> object:
    triggers = [*(work.section.get("OnBuild") or []), cf.onbuild_trigger(instr)]
    work.section["OnBuild"] = triggers
    return triggers


def workdir(work: WorkingImage, instr: cf.Instruction, env: Env, escape: str) -> str:
    """Set WorkingDir (relative to the current one); the caller makes the directory."""
    value = words.expand(instr.text, env, escape)
    current = work.section.get("WorkingDir") or "/"
    path = posixpath.normpath(posixpath.join(current, value))
    work.section["WorkingDir"] = path
    return path


APPLY: dict[str, Callable[[WorkingImage, cf.Instruction, Env, str], object]] = {
    "ENV": _env,
    "LABEL": _label,
    "MAINTAINER": _maintainer,
    "USER": _user,
    "CMD": _cmd,
    "ENTRYPOINT": _entrypoint,
    "SHELL": _shell,
    "EXPOSE": _expose,
    "VOLUME": _volume,
    "STOPSIGNAL": _stopsignal,
    "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
    "WORKDIR": workdir,
}

# What `pod commit --change` accepts (podman's list).
CHANGE_KEYWORDS = (
    "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME",
    "WORKDIR",
)  # fmt: skip


def apply_change(work: WorkingImage, text: str) -> None:
    """One `--change "CMD [...]"`, parsed as a Containerfile line would be."""
    try:
        instr = cf.parse(f"FROM scratch\n{text}\n", "change").stages[0].instructions[0]
    except (PodError, IndexError):
        raise PodError(f'invalid change "{text}"') from None
    if instr.keyword not in CHANGE_KEYWORDS:
        raise PodError(f'invalid change "{text}": only {", ".join(CHANGE_KEYWORDS)} can be changed')
    APPLY[instr.keyword](work, instr, work.env(), "\\")
