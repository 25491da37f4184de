"""The single error boundary every command leaves through, typer or not (pod.commands.cli and
pod.commands.fastpath): one `Error: ...` line and podman's exit code."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from pod.commands import common
from pod.errors import PodError


def _print_traceback() -> None:
    import traceback  # only with --log-level debug: it costs start-up time otherwise

    traceback.print_exc()


def guarded(command: Callable[[], int | None]) -> int:
    """`command()`'s exit code; pod's errors, interrupts and bugs as podman reports them."""
    try:
        code = command()
    except PodError as err:
        if common.debug_enabled():
            _print_traceback()
        print(f"Error: {err}", file=sys.stderr)
        code = err.exit_code
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as err:  # a bug, not a user error: still one line unless debugging
        if common.debug_enabled():
            _print_traceback()
        print(f"Error: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        code = 125
    return code if isinstance(code, int) else 0


def exit_now(code: int) -> NoReturn:
    """Exit without the interpreter freeing every module's objects one by one (~30 ms on every
    command, more than some commands' work): what the user must see is flushed and the atexit
    handlers (temporary files' finalizers among them) run first; then nothing is left to do."""
    import atexit

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)
