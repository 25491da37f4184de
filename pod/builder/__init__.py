"""`pod build`: Containerfile parsing, the build context, the executor (stages, cache, layers)."""
