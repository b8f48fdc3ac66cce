"""`%opus models`: the catalog as a table: every price with its source and date, limits, legacy
models with their current successor, price modifiers and aliases."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.cost.catalog import Catalog, ModelInfo, Prices
from opus_magic.view import format as fmt

HEADER = ("model", "input", "output", "c.read", "c.write 5m", "c.write 1h", "context", "max out",
          "min cache", "source (as of)")
NAMED_ORIGINS = ("package", "genai-prices")


def _price(value: Decimal | None) -> str:
    return fmt.NONE if value is None else f"{value:f}"


def _count(value: int | None) -> str:
    return fmt.count(value)


def _prices(prices: Prices) -> tuple[str, ...]:
    return tuple(_price(v) for v in (prices.input, prices.output, prices.cache_read,
                                     prices.cache_write, prices.cache_write_1h))


def _source(info: ModelInfo) -> str:
    dated = f"{info.source} ({info.as_of or 'no date'})"
    if info.origin == "package":
        return f"catalog.json: {dated}"
    return dated if info.origin in NAMED_ORIGINS else f"{dated} [from {info.origin}]"


def _row(info: ModelInfo) -> tuple[str, ...]:
    retired = " (retired)" if info.retired else ""
    return (info.id + retired, *_prices(info.prices), _count(info.context_window),
            _count(info.max_output), _count(info.min_cache_prefix), _source(info))


def _change(old: Decimal, new: Decimal) -> str:
    percent = (1 - new / old) * 100
    if percent == 0:
        return "the same price"
    return f"{abs(percent):.0f} % {'cheaper' if percent > 0 else 'dearer'}"


def successor_note(info: ModelInfo, catalog: Catalog) -> str | None:
    """`claude-opus-4-6 (legacy) · claude-opus-5-5 is current: $4/$20, 20 % cheaper`, or None."""
    if not (info.legacy or info.retired):
        return None
    note = f"{info.id} ({'retired' if info.retired else 'legacy'})"
    current = catalog.get(info.successor) if info.successor else None
    if current is None:
        return note
    note += f" · {current.id} is current"
    old, new = info.prices, current.prices
    if not (info.priced and current.priced and old.input and old.output):
        return note
    assert new.input is not None and new.output is not None
    change_in, change_out = _change(old.input, new.input), _change(old.output, new.output)
    change = change_in if change_in == change_out else f"input {change_in}, output {change_out}"
    return f"{note}: ${new.input:f}/${new.output:f}, {change}"


def _modifiers(models: list[ModelInfo], catalog: Catalog) -> str:
    batch = ", ".join(f"{name} {(1 - Decimal(terms['batch'])) * 100:.0f} % off"
                      for name, terms in catalog.providers.items() if terms.get("batch"))
    fast = ", ".join(f"{info.id} ×{info.modifiers.fast:f}" for info in models
                     if info.modifiers.fast is not None)
    return f"Batch API: {batch or 'no discount known'}. Fast mode: {fast or 'none listed'}."


def models_table(catalog: Catalog, everything: bool = False, word: str | None = None) -> str:
    """One line per model (plus its long-context tier and legacy note), then modifiers and aliases.

    `everything` adds every genai-prices model; `word` keeps models whose id or alias contains it
    (searching every source).
    """
    models = list(catalog.listed(everything or word is not None).values())
    if word is not None:
        models = [info for info in models
                  if any(word.lower() in name.lower() for name in catalog.names_for(info.id))]
    rows: list[tuple[str, ...]] = [HEADER]
    for info in models:
        rows.append(_row(info))
        if info.long_context_prices is not None and info.long_context_threshold is not None:
            tier = f"  above {info.long_context_threshold:,} input"
            rows.append((tier, *_prices(info.long_context_prices), "", "", "", ""))
        note = successor_note(info, catalog)
        if note:
            rows.append((f"  {note}",))
    table = [row for row in rows if len(row) == len(HEADER)]
    aligned = iter(fmt.text_table(table, left={0, len(HEADER) - 1}).split("\n"))
    lines = [row[0] if len(row) == 1 else next(aligned) for row in rows]
    return "\n".join([*lines, *_footer(models, catalog)])


def _footer(models: list[ModelInfo], catalog: Catalog) -> list[str]:
    aliases = ", ".join(f"{alias} → {target}" for alias, target in catalog.aliases.items())
    unpinned = (f"Models not listed here are priced from {catalog.fallback.label} "
                f"(%opus models --all lists them)." if catalog.fallback else "")
    return [line for line in (
        "Prices in $ per million tokens; – means no separate price (cached tokens are then "
        "charged at the provider's multiple of input: Anthropic writes 1.25× for 5 min, 2× for "
        "1 h, reads 0.1×; elsewhere as input).",
        _modifiers(models, catalog),
        f"Aliases: {aliases}. Provider names (anthropic/claude-opus-4.6) resolve too.",
        unpinned) if line]
