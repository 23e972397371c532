"""One module per architecture family; each defines ``FAMILY``."""
