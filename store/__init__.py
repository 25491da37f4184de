"""pod.store: all on-disk state. Every mutation happens under a lock and is atomic."""
