"""Caducée: end-to-end encrypted messaging for health professionals."""

__version__ = "0.1.0"
