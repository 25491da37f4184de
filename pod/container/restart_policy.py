"""`--restart`: whether a container that exited is started again, and after what back-off.

There is no daemon to restart containers: the supervisor of the container that exited runs a
restart helper (pod.shim.setup's `restart`), which asks `due` and waits out `delay`. A `pod stop`
or `pod kill` marks the state stopped_by_user before signalling; such an exit is never restarted.
"""

from __future__ import annotations

from pod.errors import UsageError
from pod.store.containers import ContainerRecord
from pod.util.records import dataclass

POLICIES = ("no", "on-failure", "always", "unless-stopped")
_FIRST_DELAY = 0.1  # seconds; doubled per restart in a row, as docker's back-off
_MAX_DELAY = 5.0
_STABLE_SECONDS = 10.0  # a container that ran this long starts its back-off anew


@dataclass(frozen=True)
class RestartPolicy:
    """--restart parsed: the policy's name and on-failure's retry limit."""

    name: str = ""  # "" when not given: same as "no"
    retries: int = 0  # on-failure only; 0 means no limit


def parse(text: str | None) -> RestartPolicy:
    """`no`, `on-failure[:N]`, `always`, `unless-stopped` (podman's spellings)."""
    if not text:
        return RestartPolicy()
    name, sep, count = text.partition(":")
    if name not in POLICIES:
        raise UsageError(
            f'invalid restart policy "{text}": use no, on-failure[:N], always or unless-stopped'
        )
    if not sep:
        return RestartPolicy(name)
    if name != "on-failure":
        raise UsageError("restart policy retries can only be specified with on-failure")
    if not count.isdigit():
        raise UsageError(f'invalid restart policy retry count "{count}": must be an integer')
    return RestartPolicy(name, int(count))


def due(record: ContainerRecord, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
    """Does the policy restart a container that exited with `exit_code`?"""
    if stopped_by_user or record.remove:
        return False
    if record.restart_policy in ("always", "unless-stopped"):
        return True
    if record.restart_policy == "on-failure" and exit_code != 0:
        return not record.restart_retries or restarts < record.restart_retries
    return False


def delay(restarts: int, ran_for: float) -> float:
    if ran_for >= _STABLE_SECONDS:
        return _FIRST_DELAY
    return min(_FIRST_DELAY * (2**restarts), _MAX_DELAY)
