"""A container's shim: set-up (setup.py), the small supervisor (supervisor.py, protocol.py), the
steps they share (steps.py) and the CLI's side (client.py)."""
