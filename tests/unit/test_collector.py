"""pod.util.collector: the cyclic collector is off for a short command's start-up, and back on
(without walking start-up's objects again) for a phase as long as a container's life."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from pod.util import collector


@pytest.fixture(autouse=True)
def _restored():
    yield
    gc.unfreeze()
    gc.enable()


def test_a_short_command_starts_without_it_and_resumes_with_start_up_frozen():
    collector.pause_for("run")
    assert not gc.isenabled()
    collector.resume()
    assert gc.isenabled() and gc.get_freeze_count() > 0


@pytest.mark.parametrize("command", ["build", "pull", "logs", "events", "wait", ""])
def test_commands_that_may_run_long_and_allocate_keep_it(command):
    collector.pause_for(command)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    collector.resume()  # nothing to resume: start-up is not frozen for them
    assert gc.get_freeze_count() == frozen


@pytest.mark.parametrize(("command", "enabled"), [("ps", "False"), ("logs", "True")])
def test_the_cli_entry_pauses_it_by_command(command, enabled):
    """pod.entry as `pod ps` / `pod logs` start; the command's body is replaced by a probe."""
    code = (
        "import gc, sys; import pod.commands.fastpath as f;"
        "f.run = lambda argv: print(gc.isenabled(), flush=True) or 0;"
        f"sys.argv = ['pod', '{command}']; import pod.entry as e; e.main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == enabled
