"""The image provider on OpenAI's Images API (install with ``pip install 'rankion[openai]'``).

Importing this package does not import ``openai``; opening a provider does.
"""

from __future__ import annotations

from .config import OpenAIConfig, load_config
from .fetch import check_url
from .provider import OpenAIProvider, open_provider

__all__ = ["OpenAIConfig", "OpenAIProvider", "check_url", "load_config", "open_provider"]
