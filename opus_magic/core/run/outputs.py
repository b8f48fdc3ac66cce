"""What a request asks beyond its messages: the schema the answer must follow, fitted to the
endpoint's API (fixed where that is safe, else refused), and the provider's own server tools,
whose fees the worst case counts."""
from __future__ import annotations

from dataclasses import dataclass

from opus_magic.core.run.request import RunRequest
from opus_magic.errors import SchemaRefused
from opus_magic.records import Usage
from opus_magic.wire.body.request import OutputFormat
from opus_magic.wire.transport import Transport


@dataclass(frozen=True)
class FittedOutput:
    """The schema as sent (None: none asked for, or refused), notes on what was fixed, and the
    one-line refusal when it cannot be sent."""

    output: OutputFormat | None = None
    notes: tuple[str, ...] = ()
    refusal: str | None = None


def fit_output(transport: Transport, request: RunRequest) -> FittedOutput:
    """The request's schema as the transport's API takes it."""
    schema = request.output_schema
    if schema is None:
        return FittedOutput()
    try:
        fitted = transport.fit_schema(schema.name, schema.json_schema)
    except SchemaRefused as refused:
        return FittedOutput(refusal=str(refused))
    return FittedOutput(OutputFormat(schema.name, fitted.schema), fitted.notes)


def most_server_tool_use(request: RunRequest, usage: Usage) -> Usage:
    """`usage` with as many web searches as the request allows: what its worst case pays."""
    searches = sum(tool.max_uses or 0 for tool in request.server_tools
                   if tool.name == "web_search")
    return Usage(**{**usage.__dict__, "web_search_requests": searches})
