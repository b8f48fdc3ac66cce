"""`%opus models`: the catalog as a table: every price with its source and date, limits, legacy
models with their current successor, price modifiers and aliases."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.cost import crosscheck, lineup
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


def successor_note(info: ModelInfo, catalog: Catalog) -> str | None:
    """`claude-opus-4-6 (legacy) · claude-opus-5-5 is current: $4/$20, 20 % cheaper`, or None."""
    if lineup.is_current(info):
        return None
    note = f"{info.id} ({'retired' if info.retired else 'legacy'})"
    current = catalog.get(info.successor) if info.successor else None
    if current is None:
        return note
    note += f" · {current.id} is current"
    change = lineup.price_change(info, current)
    if change is None:
        return note
    new = current.prices
    return f"{note}: ${new.input:f}/${new.output:f}, {change}"


def _modifiers(models: list[ModelInfo], catalog: Catalog) -> str:
    batch = ", ".join(f"{name} {(1 - Decimal(terms['batch'])) * 100:.0f} % off"
                      for name, terms in catalog.providers.items() if terms.get("batch"))
    fast = ", ".join(f"{info.id} ×{info.modifiers.fast:f}" for info in models
                     if info.modifiers.fast is not None)
    return f"Batch API: {batch or 'no discount known'}. Fast mode: {fast or 'none listed'}."


def models_table(catalog: Catalog, everything: bool = False, word: str | None = None) -> str:
    """The current models and the aliases first, then one line per model (plus its long-context
    tier and legacy note): the current ones, the legacy ones, then those only genai-prices
    prices; modifiers last.

    `everything` adds every genai-prices model under every name providers give it; `word` keeps
    the models whose id or alias contains it (one line per model, from every source), and when
    it names a pinned model says where its price sources disagree.
    """
    models = chosen(catalog, everything, word)
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
    named = catalog.resolve(word) if word else None
    checked = source_lines(catalog.models[named], catalog) if named in catalog.models else []
    return "\n".join([*_header(models, catalog, word), *lines, *_footer(models, catalog),
                      *checked])


def chosen(catalog: Catalog, everything: bool, word: str | None) -> list[ModelInfo]:
    """The models to list, current pinned ones first, then the other pinned ones, then the rest;
    one per model unless `everything`."""
    listed = catalog.listed(everything or word is not None, distinct=not everything)
    models = [info for info in listed.values() if word is None
              or any(word.lower() in name.lower() for name in catalog.names_for(info.id))]
    return sorted(models, key=lambda info: (info.id not in catalog.models,
                                            not lineup.is_current(info)))


def source_lines(info: ModelInfo, catalog: Catalog) -> list[str]:
    """Where the pinned price and genai-prices' differ for one model, and which one is used."""
    other = catalog.fallback_entry(info.id) if catalog.fallback is not None else None
    label = catalog.fallback.label if catalog.fallback is not None else "genai-prices"
    used = info.price_source
    if other is None:
        return [f"{label} has no entry for {info.id}: only {used} prices it."]
    found = crosscheck.differences(info, other)
    if not found:
        return [f"{used} and {label} agree on every price of {info.id}."]
    return [f"{used} and {label} disagree on {info.id}; opus_magic prices it with {used}:",
            *(f"  {d.name}: {_per_million(d.used)} in {used}, {_per_million(d.other)} in {label}"
              for d in found)]


def _per_million(value: Decimal | None) -> str:
    return "no price" if value is None else f"${value.normalize():f}/M"


def _header(models: list[ModelInfo], catalog: Catalog, word: str | None) -> list[str]:
    current = [info.id for info in models if info.id in catalog.models and lineup.is_current(info)]
    aliases = [f"{alias} → {target}" for alias, target in catalog.aliases.items()
               if word is None or word.lower() in alias.lower() or word.lower() in target.lower()]
    return [line for line in (
        f"Current models: {', '.join(current)}." if current else "",
        f"Aliases: {', '.join(aliases)}. Provider names (anthropic/claude-opus-4.6) resolve too."
        if aliases else "") if line]


def _footer(models: list[ModelInfo], catalog: Catalog) -> list[str]:
    unpinned = (f"Models not listed here are priced from {catalog.fallback.label} "
                f"(%opus models --all lists them)." if catalog.fallback else "")
    return [line for line in (
        "Prices in $ per million tokens; – means no separate price (cached tokens are then "
        "charged at the provider's multiple of input: Anthropic writes 1.25× for 5 min, 2× for "
        "1 h, reads 0.1× unless the model says otherwise; elsewhere as input).",
        _modifiers(models, catalog),
        unpinned) if line]
