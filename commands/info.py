"""`pod info` (host, store and rootless readiness) and `pod version`."""

from __future__ import annotations

import typer

from pod.commands import common

# podman's versionTemplate: a Git Commit line only when there is one
VERSION_TEMPLATE = """{{with .Client -}}
Client:\tpod
Version:\t{{.Version}}
API Version:\t{{.APIVersion}}
Go Version:\t{{.GoVersion}}
{{if .GitCommit -}}Git Commit:\t{{.GitCommit}}\n{{end -}}
Built:\t{{.BuiltTime}}
OS/Arch:\t{{.OsArch}}
{{- end}}
"""


def info_command(
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show the host, the store and whether rootless containers will work here (with fixes)."""
    from pod import format as gotemplate
    from pod.system.info import info_document, info_text

    document = info_document(common.settings())
    if fmt is None:
        print(info_text(document), end="")
    elif gotemplate.is_json(fmt):  # podman: json-iterator's MarshalIndent, two spaces
        print(gotemplate.to_json(document, 2, escape_html=True, open_empty_objects=True))
    else:
        print(gotemplate.render_object(document, fmt, name="info"), end="")


def version_command(
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show pod's version (podman's keys; pod's Python stands where podman shows Go)."""
    from pod import format as gotemplate
    from pod.errors import PodError
    from pod.system.info import SystemVersionReport, version_document

    report = SystemVersionReport(version_document())
    if fmt is None:
        print(gotemplate.render_table([report], VERSION_TEMPLATE, heading=False), end="")
    elif gotemplate.is_json(fmt):  # podman: one compact line
        print(gotemplate.to_json(report, escape_html=True))
    else:
        try:
            text = gotemplate.render_object(report, fmt, name="version")
        except PodError:  # podman retries an old-style template on the client's version
            text = gotemplate.render_object(
                report.Client, fmt.replace(".Server.", "."), name="version"
            )
        print(text, end="")


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("info", rich_help_panel="System")(info_command)
    app.command("version", rich_help_panel="System")(version_command)
    system = next((g.typer_instance for g in app.registered_groups if g.name == "system"), None)
    if system is not None:
        system.command("info")(info_command)
