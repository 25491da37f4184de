"""podman (Go pflag) accepts `--flag=true|false` for boolean flags, and flags whose value may be
left out; click does neither.

Scripts written for podman say `--tls-verify=false` or `--rm=true`, so before click parses the
command line the values of known boolean flags are turned into the plain flag (true), its
`--no-` twin (false, when declared) or nothing (false, for a flag that is off by default).

Only pod's own flags are rewritten: the value of an option (`--filter name=--rm=true`), what
follows `--`, and everything from the first positional argument of a command that stops
parsing there (run, create, exec: the image or container, then the container's own command
line) are passed on untouched.
"""

from __future__ import annotations

from typing import Any

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
# Options whose value may be left out, as pflag's NoOptDefVal: the bare flag means this value
# and never takes the next word (`pod build --pull .` pulls, and "." is the context).
OPTIONAL_VALUES = {("build", "--pull"): "true"}


class _Flags:
    """The options of one (sub)command: which are boolean flags, which take a value."""

    def __init__(self, command: Any) -> None:
        self.bools: dict[str, tuple[str, str | None]] = {}  # --name → (on, off or None)
        self.valued: set[str] = set()
        for param in getattr(command, "params", []):
            if getattr(param, "param_type_name", "") != "option":
                continue
            if getattr(param, "is_bool_flag", False):
                off = param.secondary_opts[0] if param.secondary_opts else None
                self.bools.update((name, (name, off)) for name in param.opts)
            elif not (getattr(param, "is_flag", False) or getattr(param, "count", False)):
                self.valued.update(param.opts)
        settings = getattr(command, "context_settings", None) or {}
        interspersed = getattr(command, "allow_interspersed_args", True)
        # A group's positional words are its subcommands; a command that does not intersperse
        # ends pod's own options at its first positional argument.
        self.stops_at_positional = not settings.get("allow_interspersed_args", interspersed)

    def takes_separate_value(self, token: str) -> bool:
        """Whether the option `token` (`--opt`, `--opt=v`, `-abc`) consumes the next word."""
        if token.startswith("--"):
            return "=" not in token and token in self.valued
        for at, letter in enumerate(token[1:], start=1):
            if f"-{letter}" in self.valued:
                return at == len(token) - 1  # `-e` VALUE, or `-eVALUE` (value attached)
        return False


def normalize(command: Any, argv: list[str]) -> list[str]:
    """Rewrite `--flag=value` for boolean flags of whichever (sub)command each token belongs to."""
    result: list[str] = []
    current = command
    flags = _Flags(current)
    value_next = False
    for index, token in enumerate(argv):
        if value_next:
            value_next = False
            result.append(token)
            continue
        if token == "--":
            return result + argv[index:]
        if not token.startswith("-") or token == "-":
            subcommands = getattr(current, "commands", None)
            if subcommands and token in subcommands:
                current = subcommands[token]
                flags = _Flags(current)
            elif flags.stops_at_positional:
                return result + argv[index:]
            result.append(token)
            continue
        bare = OPTIONAL_VALUES.get((getattr(current, "name", ""), token))
        if bare is not None:
            result.append(f"{token}={bare}")
            continue
        name, sep, value = token.partition("=")
        if sep and name in flags.bools and value.lower() in _TRUE | _FALSE:
            on, off = flags.bools[name]
            if value.lower() in _TRUE:
                result.append(on)
            elif off is not None:
                result.append(off)
            continue
        value_next = flags.takes_separate_value(token)
        result.append(token)
    return result
