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


run_app = typer.Typer()


@run_app.command("run", context_settings={"allow_interspersed_args": False})
def run(
    image: str = typer.Argument(...),
    command: list[str] = typer.Argument(None),  # noqa: B008 - typer's API
    rm: bool = typer.Option(False, "--rm"),
    interactive: bool = typer.Option(False, "--interactive", "-i"),
    tty: bool = typer.Option(False, "--tty", "-t"),
    env: list[str] = typer.Option([], "--env", "-e"),  # noqa: B008
    name: str = typer.Option(None, "--name"),
) -> None:
    """Run."""


@run_app.command("ps")
def ps(
    all_: bool = typer.Option(False, "--all", "-a"),
    filters: list[str] = typer.Option([], "--filter", "-f"),  # noqa: B008
) -> None:
    """List."""


RUN = typer.main.get_command(run_app)


def test_the_container_command_line_is_never_rewritten() -> None:
    argv = ["run", "--rm=true", "img", "echo", "--quiet=false", "--rm=true"]
    assert boolflags.normalize(RUN, argv) == ["run", "--rm", "img", "echo", "--quiet=false",
                                              "--rm=true"]  # fmt: skip


def test_option_values_are_not_taken_for_the_image() -> None:
    """`-e X` and `--name N` consume their value: the image comes after them."""
    argv = ["run", "-e", "A=1", "--name", "n", "-it", "--rm=false", "img", "--rm=true"]
    assert boolflags.normalize(RUN, argv) == ["run", "-e", "A=1", "--name", "n", "-it", "img",
                                              "--rm=true"]  # fmt: skip
    argv = ["run", "-ie", "A=1", "-eB=2", "--env=C", "--rm=1", "img", "sh", "-c", "--rm=1"]
    assert boolflags.normalize(RUN, argv) == ["run", "-ie", "A=1", "-eB=2", "--env=C", "--rm",
                                              "img", "sh", "-c", "--rm=1"]  # fmt: skip


def test_a_value_that_looks_like_a_flag_is_left_alone() -> None:
    argv = ["ps", "--filter", "--all=true", "--all=true"]
    assert boolflags.normalize(RUN, argv) == ["ps", "--filter", "--all=true", "--all"]
    argv = ["run", "--name", "--rm=true", "img"]
    assert boolflags.normalize(RUN, argv) == argv


def test_interspersed_commands_rewrite_after_positionals() -> None:
    """Commands that take flags anywhere (rm a --force=true b, as pflag allows) keep doing so."""
    argv = ["image", "pull", "x", "--quiet=true"]
    assert boolflags.normalize(COMMAND, argv) == ["image", "pull", "x", "--quiet"]
