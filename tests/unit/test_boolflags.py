"""`--flag=true|false` as podman scripts write it."""

import typer

from pod.commands import boolflags

app = typer.Typer()
sub = typer.Typer()


@sub.command("pull")
def pull(
    tls_verify: bool = typer.Option(None, "--tls-verify/--no-tls-verify"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    name: str = typer.Option(None, "--name"),
) -> None:
    """Pull."""


@sub.command("other")
def other() -> None:
    """Other."""


app.add_typer(sub, name="image")
COMMAND = typer.main.get_command(app)


def test_true_false_values_become_flags() -> None:
    argv = ["image", "pull", "--tls-verify=false", "--quiet=true", "x"]
    assert boolflags.normalize(COMMAND, argv) == [
        "image",
        "pull",
        "--no-tls-verify",
        "--quiet",
        "x",
    ]
    argv = ["image", "pull", "--tls-verify=true", "--quiet=false", "x"]
    assert boolflags.normalize(COMMAND, argv) == ["image", "pull", "--tls-verify", "x"]


def test_other_values_and_options_are_left_alone() -> None:
    argv = ["image", "pull", "--name=false", "--tls-verify=maybe", "--", "--quiet=true"]
    assert boolflags.normalize(COMMAND, argv) == argv
