"""The ``floe`` command."""

__version__ = "0.1.0"
