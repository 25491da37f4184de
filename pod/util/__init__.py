"""Small helpers below everything else: they import nothing of pod but pod.errors."""
