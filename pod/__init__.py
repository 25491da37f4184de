"""pod: a daemonless, rootless-first container engine."""

__version__ = "0.1.0"
