"""agmc-env: automated model compression as a Gymnasium reinforcement-learning problem."""

from __future__ import annotations

__version__ = "0.1.0"
