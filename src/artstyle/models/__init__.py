"""Models: one per file, each with timm-like ``forward_features`` / ``forward_head`` and ``from_args``."""
