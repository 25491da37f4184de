"""`pod login` and `pod logout`: credentials checked against the registry, stored 0600."""

from __future__ import annotations

import sys

import typer

from pod.commands import common


def _host_of(text: str) -> str:
    """`login` takes a registry host, optionally with a repository path after it."""
    return text.removeprefix("https://").removeprefix("http://").split("/", 1)[0]


def login_command(
    registry: str = typer.Argument(..., help="The registry (host[:port]) to log in to."),
    username: str = typer.Option(None, "--username", "-u", help="Username."),
    password: str = typer.Option(
        None, "--password", "-p", help="Password (prefer --password-stdin)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
    get_login: bool = typer.Option(
        False, "--get-login", help="Print the stored username and exit."
    ),
    authfile: str = common.authfile_option(),
    tls_verify: bool = common.tls_verify_option(),
    cert_dir: str = common.cert_dir_option(),
) -> None:
    """Log in to a registry: the credentials are verified before they are stored."""
    from pod.errors import AuthenticationError, PodError, UsageError
    from pod.image import auth

    host = _host_of(registry)
    if get_login:
        user = auth.get_login(host, authfile)
        if user is None:
            raise PodError(f"not logged into {host}")
        print(user)
        return
    if password is not None and password_stdin:
        raise UsageError("--password and --password-stdin are mutually exclusive")
    existing = auth.find_credentials(host, None, authfile)
    if username is None and password is None and not password_stdin and existing is not None:
        print(f"Authenticating with existing credentials for {host}")
        try:
            _check(host, existing, tls_verify, authfile, cert_dir)
            print(f"Existing credentials are valid. Already logged into {host}")
            return
        except AuthenticationError:
            print("Existing credentials are invalid, please enter valid username and password")
    if username is None:
        username = _prompt("Username: ", hidden=False)
    if password_stdin:
        password = sys.stdin.read().rstrip("\n")
    elif password is None:
        password = _prompt("Password: ", hidden=True)
    if not username:
        raise UsageError("must provide a username")
    if not password:
        raise UsageError("must provide a password")
    credentials = auth.Credentials(username=username, password=password)
    _check(host, credentials, tls_verify, authfile, cert_dir)
    auth.store_credentials(host, credentials, authfile)
    print("Login Succeeded!")


def _check(host: str, credentials, tls_verify, authfile, cert_dir) -> None:
    from pod.image.access import RegistryAccess
    from pod.image.registries_conf import load

    insecure = load().host_is_insecure(host)
    access = RegistryAccess(tls_verify, authfile, credentials, cert_dir)
    access.client(host, None, insecure).check_login()


def _prompt(text: str, hidden: bool) -> str:
    from pod.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(
            f"cannot prompt for {text.strip(': ').lower()}: stdin is not a terminal "
            "(use -u/-p or --password-stdin)"
        )
    if hidden:
        import getpass

        return getpass.getpass(text)
    return input(text)


def logout_command(
    registry: str = typer.Argument(None, help="The registry to log out of."),
    all_registries: bool = typer.Option(
        False, "--all", "-a", help="Remove all stored credentials."
    ),
    authfile: str = common.authfile_option(),
) -> None:
    """Remove stored credentials for a registry."""
    from pod.errors import PodError, UsageError
    from pod.image import auth

    if all_registries:
        auth.remove_all(authfile)
        print("Removed login credentials for all registries")
        return
    if not registry:
        raise UsageError("registry must be given (or --all)")
    host = _host_of(registry)
    if not auth.remove_credentials(host, authfile):
        raise PodError(f"not logged into {host}")
    print(f"Removed login credentials for {host}")


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("login", rich_help_panel="Registries")(login_command)
    app.command("logout", rich_help_panel="Registries")(logout_command)
