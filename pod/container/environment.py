"""A container's environment as podman composes it (specgen + libpod), and the host variables
`--env-host` and `--http-proxy` carry in.

Pure but for `host_variables`, which reads this process's environment for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONTAINER_ENV = "pod"  # podman sets container=podman
# What --http-proxy (on by default) copies from the host, as podman's list.
PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
)


def host_variables(environ: Mapping[str, str], *, env_host: bool, http_proxy: bool) -> list[str]:
    """KEY=VALUE entries that go before --env-file and -e: the whole host environment with
    --env-host, else (with --http-proxy) the host's proxy settings."""
    if env_host:
        return [f"{key}={value}" for key, value in environ.items()]
    if http_proxy:
        return [f"{key}={environ[key]}" for key in PROXY_VARIABLES if key in environ]
    return []


def compose(
    image_env: Sequence[str],
    user_env: Sequence[str],
    *,
    hostname: str,
    home: str,
    unset: Sequence[str] = (),
    unset_all: bool = False,
    extra: Mapping[str, str] | None = None,
) -> list[str]:
    """pod's defaults (PATH, TERM, container), then the image's Env, less --unsetenv names
    (none of them with --unsetenv-all), then `extra` (systemd mode's container_uuid), then the
    user's entries (host ones first, then --env-file, then -e); a later value replaces an
    earlier one in its place. HOSTNAME and HOME are set when nothing else sets them.

    podman always sets TERM=xterm (pkg/env DefaultEnvVariables), with or without -t."""
    merged: dict[str, str] = {}
    if not unset_all:
        merged.update(PATH=DEFAULT_PATH, TERM="xterm", container=CONTAINER_ENV)
    merged.update(HOSTNAME=hostname, HOME=home or "/")
    if not unset_all:
        _merge(merged, image_env)
    for name in unset:
        merged.pop(name, None)
    merged.update(extra or {})
    _merge(merged, user_env)
    merged.setdefault("HOSTNAME", hostname)
    merged.setdefault("HOME", home or "/")
    return [f"{key}={value}" for key, value in merged.items()]


def _merge(merged: dict[str, str], entries: Sequence[str]) -> None:
    for item in entries:
        key, _, value = item.partition("=")
        if key:
            merged[key] = value
