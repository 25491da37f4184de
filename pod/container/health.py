"""Health checks, run by pod itself: no systemd timer and no daemon.

A container's check (its image's HEALTHCHECK, or the --health-* flags) is run on its interval by
the container's own supervisor, which spawns a short-lived helper for each check
(`python -m pod.shim.setup --op healthcheck`: `scheduled_check` here), so the supervisor stays
small; `pod healthcheck run` runs one at once (`check_now`). A check is the test command run in
the container like `pod exec`, with its output captured and a timeout. Results go to the
container's state (status starting|healthy|unhealthy, the failing streak, the last five
results), as podman keeps them; the on-failure action (kill, restart, stop) follows the first
result that makes the container unhealthy.
"""

from __future__ import annotations

import re
import time

from pod import events
from pod.container.options import HealthFlags
from pod.errors import PodError, UsageError
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.records import dataclass
from pod.util.timefmt import DURATION

SECOND = 1_000_000_000  # Docker's config keeps durations in nanoseconds
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
ON_FAILURE = ("none", "kill", "restart", "stop")
LOG_ENTRIES = 5  # results kept, as podman
OUTPUT_LIMIT = 4096  # bytes of a check's output kept per result
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": SECOND, "m": 60 * SECOND,
          "h": 3600 * SECOND}  # fmt: skip


@dataclass
class CheckResult:
    """One health check run: its exit code, output and times, as podman logs them."""

    exit_code: int
    output: str
    start: float
    end: float


def parse_duration(text: str, flag: str) -> int:
    """A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds; `0` alone is allowed."""
    if text.strip() == "0":
        return 0
    position, total = 0, 0.0
    for match in re.finditer(DURATION, text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration')
    return int(total)


def parse_test(text: str) -> list[str]:
    """--health-cmd: a JSON array (`["CMD", "curl", ...]`, `["CMD-SHELL", "..."]`, `["NONE"]`)
    or a shell command line; `none` disables the image's check."""
    import json

    stripped = text.strip()
    if stripped.lower() == "none":
        return ["NONE"]
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError:
            raise UsageError(f"invalid --health-cmd {text!r}: not a JSON array") from None
        if not value or not all(isinstance(item, str) for item in value):
            raise UsageError(f"invalid --health-cmd {text!r}: a JSON array of strings")
        if value[0] not in ("CMD", "CMD-SHELL", "NONE"):
            return ["CMD", *value]
        return value
    return ["CMD-SHELL", text]


def healthcheck_config(flags: HealthFlags, image: dict | None) -> dict:
    """The container's check in the image config's shape (Test, Interval, Timeout, StartPeriod,
    Retries), the flags over the image's HEALTHCHECK; {} when there is none."""
    if flags.disabled:
        return {}
    config = dict(image or {})
    if flags.cmd is not None:
        config["Test"] = parse_test(flags.cmd)
    test = config.get("Test") or []
    if not test or test[0] == "NONE":
        return {}
    if flags.interval is not None:
        disabled = flags.interval == "disable"
        config["Interval"] = 0 if disabled else parse_duration(flags.interval, "health-interval")
    if flags.timeout is not None:
        config["Timeout"] = parse_duration(flags.timeout, "health-timeout")
    if flags.start_period is not None:
        config["StartPeriod"] = parse_duration(flags.start_period, "health-start-period")
    if flags.retries is not None:
        if flags.retries < 0:
            raise UsageError("healthcheck-retries must be greater than 0")
        config["Retries"] = flags.retries
    config.setdefault("Interval", DEFAULT_INTERVAL)
    config.setdefault("Timeout", DEFAULT_TIMEOUT)
    config.setdefault("Retries", DEFAULT_RETRIES)
    if config["Interval"] and config["Interval"] < SECOND:
        raise UsageError("healthcheck-interval must be at least 1 second")
    if config["Timeout"] < SECOND:
        raise UsageError("healthcheck-timeout must be at least 1 second")
    return {key: config[key] for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries")
            if key in config}  # fmt: skip


def check_flags(flags: HealthFlags) -> HealthFlags:
    """Refuse bad --health-* values before anything is pulled or created."""
    healthcheck_config(flags, {"Test": ["CMD", "true"]})
    parse_on_failure(flags.on_failure)
    return flags


def parse_on_failure(text: str | None) -> str:
    value = text or "none"
    if value not in ON_FAILURE:
        raise UsageError(f'invalid on-failure action "{value}" for health check: supported '
                         "actions are none, kill, restart, stop")  # fmt: skip
    return value


def interval_seconds(record: ContainerRecord) -> float:
    """How often the supervisor runs the check (0: never on its own)."""
    return (record.healthcheck or {}).get("Interval", 0) / SECOND


def command_of(config: dict) -> list[str]:
    test = config.get("Test") or []
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:])


def run_check(layout: Layout, store: ContainerStore, record: ContainerRecord) -> CheckResult:
    """The test command in the container, output captured, killed at the timeout."""
    from pod.container.exec import exec_captured

    config = record.healthcheck
    start = time.time()
    try:
        code, output = exec_captured(
            layout, store, record, command_of(config), config.get("Timeout", 0) / SECOND
        )
    except PodError as err:  # not running, or the command could not run
        code, output = err.exit_code if err.exit_code != 125 else 1, str(err)
    return CheckResult(code, output[-OUTPUT_LIMIT:], start, time.time())


def record_result(store: ContainerStore, record: ContainerRecord, result: CheckResult) -> bool:
    """Add one result to the container's health; True when it just became unhealthy."""
    from pod.util.humanize import rfc3339

    config = record.healthcheck
    with locked(store.container_lock(record.id)):
        state = store.read_state(record.id)
        health = dict(state.health or {"Status": "starting", "FailingStreak": 0, "Log": []})
        before = health.get("Status", "starting")
        in_start_period = result.start - state.started_at < config.get("StartPeriod", 0) / SECOND
        if result.exit_code == 0:
            health["Status"], health["FailingStreak"] = "healthy", 0
        elif not in_start_period:
            health["FailingStreak"] = health.get("FailingStreak", 0) + 1
            if health["FailingStreak"] >= config.get("Retries", DEFAULT_RETRIES):
                health["Status"] = "unhealthy"
        entry = {"Start": rfc3339(result.start), "End": rfc3339(result.end),
                 "ExitCode": result.exit_code, "Output": result.output}  # fmt: skip
        health["Log"] = [*health.get("Log", []), entry][-LOG_ENTRIES:]
        state.health = health
        store.write_state(record.id, state)
    status = str(health["Status"])
    event = events.for_container(record, "health_status")
    event.attributes = {**(event.attributes or {}), "health_status": status}
    events.emit(store.layout.runroot, event)
    return before != "unhealthy" and status == "unhealthy"


def _checked(layout: Layout, text: str) -> tuple[ContainerStore, ContainerRecord]:
    store = ContainerStore(layout)
    record = store.lookup(text)
    if not record.healthcheck:
        raise PodError(f"container {record.id} has no defined healthcheck")
    return store, record


def check_now(layout: Layout, text: str) -> bool:
    """`pod healthcheck run`: one check now; True when healthy."""
    from pod.container.state import current_state

    store, record = _checked(layout, text)
    if current_state(store, record).status != "running":
        raise PodError(f"container {record.id} is not running")
    result = run_check(layout, store, record)
    record_result(store, record, result)
    return result.exit_code == 0


def scheduled_check(layout: Layout, container_id: str) -> str:
    """The supervisor's periodic check: the action it must take ("ok", "kill", "restart"), or
    "ok" after doing a stop itself (a stop waits for the container's exit, which the supervisor
    sees as any other)."""
    from pod.container.state import current_state

    store, record = _checked(layout, container_id)
    events.configure(record.events_backend or None)  # where the creating command's went
    if current_state(store, record).status != "running":
        return "ok"
    result = run_check(layout, store, record)
    if not record_result(store, record, result) or record.health_on_failure == "none":
        return "ok"
    if record.health_on_failure == "stop":  # as `pod stop`: the exit is then never restarted
        from pod.container.stop import stop

        stop(store, record, store.read_state(record.id), record.stop_timeout)
        return "ok"
    return record.health_on_failure
