"""The user-namespace names the shim (pod.shim.client, pod.shim.supervisor) imports from the
runtime; they are defined once, in pod.util.userns, which the store's workers use too."""

from __future__ import annotations

from pod.util.userns import (  # noqa: F401 - re-exported for pod.shim
    IdMapLine,
    IdMapping,
    SubIdRange,
    UserMapping,
    current_mapping,
    enter_userns,
    set_up_child,
)
