"""Data layer: source registry, fetching, parsing, validation, cache and loading."""
