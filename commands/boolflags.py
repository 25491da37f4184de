"""podman (Go pflag) accepts `--flag=true|false` for boolean flags, and flags whose value may be
left out; click does neither.

Scripts written for podman say `--tls-verify=false` or `--rm=true`, so before click parses the
command line the values of known boolean flags are turned into the plain flag (true), its
`--no-` twin (false, when declared) or nothing (false, for a flag that is off by default).
"""

from __future__ import annotations

from typing import Any

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
# Options whose value may be left out, as pflag's NoOptDefVal: the bare flag means this value
# and never takes the next word (`pod build --pull .` pulls, and "." is the context).
OPTIONAL_VALUES = {("build", "--pull"): "true"}


def _bool_options(command: Any) -> dict[str, tuple[str, str | None]]:
    """`--name` → (on spelling, off spelling or None) for each boolean flag of `command`."""
    found: dict[str, tuple[str, str | None]] = {}
    for param in getattr(command, "params", []):
        if not getattr(param, "is_bool_flag", False):
            continue
        off = param.secondary_opts[0] if param.secondary_opts else None
        for name in param.opts:
            found[name] = (name, off)
    return found


def normalize(command: Any, argv: list[str]) -> list[str]:
    """Rewrite `--flag=value` for boolean flags of whichever (sub)command each token belongs to."""
    result: list[str] = []
    current = command
    flags = _bool_options(current)
    for index, token in enumerate(argv):
        if token == "--":
            return result + argv[index:]
        subcommands = getattr(current, "commands", None)
        if subcommands and not token.startswith("-") and token in subcommands:
            current = subcommands[token]
            flags = _bool_options(current)
            result.append(token)
            continue
        bare = OPTIONAL_VALUES.get((getattr(current, "name", ""), token))
        if bare is not None:
            result.append(f"{token}={bare}")
            continue
        name, sep, value = token.partition("=")
        if sep and name in flags and value.lower() in _TRUE | _FALSE:
            on, off = flags[name]
            if value.lower() in _TRUE:
                result.append(on)
            elif off is not None:
                result.append(off)
            continue
        result.append(token)
    return result
