"""The OpenAI provider's settings, from options (strings welcome) and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, field

from rankion_core.errors import Invalid

from .fetch import DEFAULT_URL_ALLOWLIST

__all__ = ["OpenAIConfig", "load_config"]

_DEFAULT_MODELS = ("gpt-image-1", "gpt-image-1-mini")
_MAX_RETRIES_CAP = 10  # the SDK's retries stay bounded whatever the option says


@define(frozen=True)
class OpenAIConfig:
    api_key: str = field(repr=False)
    base_url: str | None = None
    models: tuple[str, ...] = _DEFAULT_MODELS
    default_model: str = "gpt-image-1"
    timeout: float = 120.0
    max_retries: int = 0
    url_allowlist: tuple[str, ...] = DEFAULT_URL_ALLOWLIST

    @property
    def deadline(self) -> float:
        """An overall cap on one call, retries and their back-off included (the SDK's
        timeout is per network read, so a server dripping bytes could outlast it)."""
        return self.timeout * (self.max_retries + 1) + 30.0 * self.max_retries


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(p.strip() for p in parts if p.strip())


def _number(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise Invalid(f"the openai provider's {name} must be a number, not {value!r}") from None
    if number < 0:
        raise Invalid(f"the openai provider's {name} must not be negative")
    return number


def _default_model(chosen: Any, models: tuple[str, ...]) -> str:
    """The chosen default must be offered; without a choice, gpt-image-1 or the first."""
    if chosen:
        if str(chosen) not in models:
            raise Invalid(f"default_model {chosen!r} is not among the models {', '.join(models)}")
        return str(chosen)
    return "gpt-image-1" if "gpt-image-1" in models else models[0]


_KNOWN = frozenset(
    {"api_key", "base_url", "models", "default_model", "timeout", "max_retries", "url_allowlist"}
)


def load_config(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> OpenAIConfig:
    """Options win over ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``."""
    env = os.environ if env is None else env
    unknown = set(options) - _KNOWN
    if unknown:
        raise Invalid(f"unknown openai provider option(s): {', '.join(sorted(unknown))}")
    api_key = options.get("api_key") or env.get("OPENAI_API_KEY")
    if not api_key:
        raise Invalid("the openai provider needs an API key: set OPENAI_API_KEY or pass api_key")
    models = _names(options.get("models") or _DEFAULT_MODELS)
    if not models:
        raise Invalid("the openai provider needs at least one model")
    default_model = _default_model(options.get("default_model"), models)
    timeout = _number("timeout", options.get("timeout", 120.0), float)
    if timeout == 0:
        raise Invalid("the openai provider's timeout must be positive")
    max_retries = _number("max_retries", options.get("max_retries", 0), int)
    return OpenAIConfig(
        api_key=str(api_key),
        base_url=options.get("base_url") or env.get("OPENAI_BASE_URL") or None,
        models=models,
        default_model=default_model,
        timeout=timeout,
        max_retries=min(max_retries, _MAX_RETRIES_CAP),
        url_allowlist=_names(options.get("url_allowlist") or DEFAULT_URL_ALLOWLIST),
    )
