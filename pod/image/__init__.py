"""Images: references, registries.conf, auth, the registry transport, pull and push, the image
writer shared by build and commit, inspect, filters and removal."""
