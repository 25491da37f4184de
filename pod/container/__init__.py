"""Containers: run options and flag parsing, the OCI spec, users and /etc files, the rootfs,
the one `run` orchestration (run.py) and one module per verb (stop, rm, ps, inspect, logs, ...)."""
