"""IO Guide: a citation-first assistant over interventional oncology guidelines."""

__version__ = "0.1.0"
