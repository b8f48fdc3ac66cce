"""`%opus models`: the catalog as a table, with every price, limit, source and as-of date."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.cost.catalog import Catalog, ModelInfo, Prices
from opus_magic.view import format as fmt

HEADER = ("model", "input", "output", "c.read", "c.write 5m", "c.write 1h", "context", "max out",
          "min cache", "source (as of)")


def _price(value: Decimal | None) -> str:
    return fmt.NONE if value is None else f"{value:f}"


def _count(value: int | None) -> str:
    return fmt.count(value)


def _prices(prices: Prices) -> tuple[str, ...]:
    return tuple(_price(v) for v in (prices.input, prices.output, prices.cache_read,
                                     prices.cache_write, prices.cache_write_1h))


def _row(info: ModelInfo) -> tuple[str, ...]:
    origin = "" if info.origin == "package" else f" [from {info.origin}]"
    retired = " (retired)" if info.retired else ""
    return (info.id + retired, *_prices(info.prices), _count(info.context_window),
            _count(info.max_output), _count(info.min_cache_prefix),
            f"{info.source} ({info.as_of or 'no date'}){origin}")


def models_table(catalog: Catalog) -> str:
    """One line per model (plus one per long-context tier) and the aliases."""
    rows: list[tuple[str, ...]] = [HEADER]
    for info in catalog.models.values():
        rows.append(_row(info))
        if info.long_context_prices is not None and info.long_context_threshold is not None:
            tier = f"  above {info.long_context_threshold:,} input"
            rows.append((tier, *_prices(info.long_context_prices), "", "", "", ""))
    lines = [fmt.text_table(rows, left={0, len(HEADER) - 1})]
    aliases = ", ".join(f"{alias} → {target}" for alias, target in catalog.aliases.items())
    lines.append("Prices in $ per million tokens; – means no separate price (cached tokens are "
                 "then charged as input).")
    lines.append(f"Aliases: {aliases}. Provider names (anthropic/claude-opus-4.6) resolve too.")
    return "\n".join(lines)
