"""What every inspect prints (containers, images, volumes, networks, pods): podman's JSON or
the user's template, and podman's errors. Typer-free: pod.commands.fastpath runs `inspect`
without the CLI framework."""

from __future__ import annotations

import sys

from pod.commands import common

INDENT = 5  # podman's inspect output: json.Encoder with five spaces, no HTML escaping


def normalize_template(fmt: str, kind: str) -> str:
    """podman's inspectNormalize: a lone `{{.Id}}` means `{{.ID}}`, and old field names
    (`.Src`, `.Dst`, `.ImageID`; an image's `.Config.Healthcheck`) their new ones."""
    import re

    fmt = re.sub(r"{{\s*\.Id\s*}}", "{{.ID}}", fmt)
    renames = [(".Src", ".Source"), (".Dst", ".Destination"), (".ImageID", ".Image")]
    if kind == "image":
        renames.append((".Config.Healthcheck", ".HealthCheck"))
    pattern = re.compile("|".join(re.escape(old) for old, _ in renames))
    return pattern.sub(lambda m: dict(renames)[m.group()], fmt)


def print_documents(documents: list, fmt: str | None, kind: str = "all") -> None:
    """Every inspect's output: the documents as podman's JSON, or through the user's template
    once per document (a template's error worded as podman's)."""
    from pod import format as gotemplate
    from pod.errors import PodError

    if not fmt or gotemplate.is_json(fmt):
        print(gotemplate.format_json(documents, indent=INDENT, escape_html=False), end="")
        return
    fmt = normalize_template(fmt, kind)
    try:
        if gotemplate.is_table(fmt):  # aligned, and no header line: podman's inspect
            text = gotemplate.render_table(documents, fmt, heading=False, name="inspect")
        else:
            text = gotemplate.render_rows(documents, fmt, name="inspect")
    except PodError as err:
        raise PodError(f"inspecting object: printing inspect output: {err}") from None
    print(text, end="")


def raise_missing(messages: list[str]) -> None:
    """podman's inspect errors (exit 125): every name not found after the first on its own
    `error inspecting object:` line, then the first as the command's error."""
    from pod.errors import PodError

    for message in messages[1:]:
        print(f"error inspecting object: {message}", file=sys.stderr)
    if messages:
        raise PodError(f"inspecting object: {messages[0]}")


def inspect_objects(names: list[str], kind: str, fmt: str | None) -> None:
    """`pod inspect` and `pod container inspect`: the objects named, found in podman's order."""
    from pod.container.object_inspect import inspect_objects

    result = inspect_objects(common.settings(), names, kind)
    print_documents(result.documents, fmt, kind)
    if result.error is not None:
        raise result.error
