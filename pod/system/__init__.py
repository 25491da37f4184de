"""pod itself: info and host checks, disk usage, prune and reset, unshare."""
