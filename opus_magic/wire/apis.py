"""The wire APIs by name: the `api` of an endpoint (or a profile) picks its transport."""
from __future__ import annotations

from opus_magic.errors import ConfigError
from opus_magic.wire.anthropic.messages import MESSAGES
from opus_magic.wire.chat import CHAT_COMPLETIONS
from opus_magic.wire.transport import Transport

TRANSPORTS: dict[str, Transport] = {
    "openai": CHAT_COMPLETIONS,  # OpenAI chat completions, and every compatible endpoint
    "anthropic": MESSAGES,  # Claude's native Messages API
}


def transport_for(api: str) -> Transport:
    """The transport of an endpoint's `api`."""
    try:
        return TRANSPORTS[api]
    except KeyError:
        raise ConfigError(f"Unknown api '{api}': use one of {', '.join(TRANSPORTS)}.") from None
