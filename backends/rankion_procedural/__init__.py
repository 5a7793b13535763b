"""The offline image provider (drawn with Pillow) and the Pillow image codec."""

from __future__ import annotations

from .codec import PillowCodec
from .provider import ProceduralProvider, open_provider

__all__ = ["PillowCodec", "ProceduralProvider", "open_provider"]
