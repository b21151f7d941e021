"""Errors a user fixes in the settings, not in code: the CLI and the service print them as one line."""

from __future__ import annotations


class SetupError(RuntimeError):
    """The configuration cannot work as given (a missing model, a store built by another model...)."""
