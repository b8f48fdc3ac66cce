"""Reconciling with the bill, the pure parts: key kinds, the providers' report shapes, pages,
the reasons and their hand-worked amounts, UTC days and the cache's rules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from opus_magic.config import load_settings
from opus_magic.core.reconcile.cells import Recorded, Reported
from opus_magic.core.reconcile.fetch import complete, reusable
from opus_magic.core.reconcile.reasons import checked, explain
from opus_magic.core.reconcile.target import days_between, target
from opus_magic.cost.catalog import default_catalog
from opus_magic.errors import ConfigError, RequestError, UsageError
from opus_magic.secret import wrong_kind
from opus_magic.store.reconcile import CachedDay
from opus_magic.wire.reports import anthropic as anthropic_reports
from opus_magic.wire.reports import openai as openai_reports
from opus_magic.wire.reports.day import CostLine, DayReport, Tokens, UsageLine, pages

SONNET = default_catalog().get("claude-sonnet-5-5")  # $2 in, $10 out, reads 5 %, writes ×1.25/×2
M = Decimal(1_000_000)


@pytest.mark.parametrize(("setting", "key", "refused"), [
    ("admin_key", "sk-ant-api03-abcdefghijklmnop", "ordinary API key"),
    ("admin_key", "sk-proj-abcdefghijklmnop", "ordinary API key"),
    ("api_key", "sk-ant-admin01-abcdefghijklmnop", "Anthropic admin key"),
    ("api_key", "sk-admin-abcdefghijklmnop", "OpenAI admin key"),
    ("admin_key", "sk-ant-admin01-abcdefghijklmnop", None),
    ("admin_key", "sk-admin-abcdefghijklmnop", None),
    ("admin_key", "a-gateway-token-of-its-own", None),
    ("api_key", "sk-ant-api03-abcdefghijklmnop", None),
])
def test_each_key_setting_refuses_the_other_kind_in_one_line(setting, key, refused) -> None:
    said = wrong_kind(setting, key)
    if refused is None:
        assert said is None
        return
    assert refused in said and "\n" not in said and key not in said and key[-4:] in said


def test_an_admin_key_variable_holding_an_ordinary_key_is_refused_naming_it() -> None:
    environ = {"CLASS_ADMIN": "sk-ant-api03-abcdefghijklmnop"}
    with pytest.raises(ConfigError) as refused:
        load_settings({"admin_key_env": "CLASS_ADMIN"}, environ=environ)
    assert "$CLASS_ADMIN" in str(refused.value) and "abcdefghijklmnop" not in str(refused.value)
    environ["CLASS_ADMIN"] = "sk-ant-admin01-abcdefghijklmnop"
    settings = load_settings({"admin_key_env": "CLASS_ADMIN"}, environ=environ)
    assert settings.admin_key.reveal() == environ["CLASS_ADMIN"]
    assert "abcdefghijklmnop" not in repr(settings)


def test_anthropic_report_results_are_read_as_documented() -> None:
    usage = anthropic_reports.usage_line("2026-12-01", {
        "uncached_input_tokens": 1500, "cache_read_input_tokens": 200,
        "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 40},
        "output_tokens": 500, "server_tool_use": {"web_search_requests": 0},
        "model": "claude-sonnet-5-5", "api_key_id": "apikey_01Rj", "workspace_id": None,
        "service_tier": "batch", "context_window": None})
    assert usage == UsageLine("2026-12-01", "claude-sonnet-5-5", Tokens(1500, 200, 30, 40, 500),
                              "batch", "apikey_01Rj")
    cost = anthropic_reports.cost_line("2026-12-01", {
        "currency": "USD", "amount": "123.45", "cost_type": "tokens",
        "model": "claude-sonnet-5-5", "token_type": "cache_creation.ephemeral_1h_input_tokens",
        "service_tier": "standard", "description": "Claude Sonnet 5.5 Usage"})
    assert (cost.amount, cost.kind, cost.model) == (Decimal("1.2345"), "cache_write_1h",
                                                    "claude-sonnet-5-5")
    search = anthropic_reports.cost_line("2026-12-01", {"amount": "1000", "cost_type":
                                                        "web_search", "token_type": None})
    assert (search.amount, search.kind, search.model) == (Decimal(10), None, None)


def test_openai_report_results_are_read_as_documented() -> None:
    usage = openai_reports.usage_line("2026-12-01", {
        "object": "organization.usage.completions.result", "input_tokens": 1000,
        "output_tokens": 500, "input_cached_tokens": 800, "num_model_requests": 5,
        "model": "gpt-4o-2024-08-06", "api_key_id": "key_abc", "batch": True})
    assert usage == UsageLine("2026-12-01", "gpt-4o-2024-08-06", Tokens(200, 800, 0, 0, 500),
                              "batch", "key_abc")
    cost = openai_reports.cost_line("2026-12-01", {
        "object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
        "line_item": "gpt-4o-2024-08-06, cached input", "project_id": None})
    assert (cost.amount, cost.kind, cost.model) == (Decimal("0.06"), "cache_read",
                                                    "gpt-4o-2024-08-06")
    assert openai_reports.bucket_day({"start_time": 1764547200}) == "2025-12-01"


def test_pages_follow_next_page_until_has_more_ends_and_refuse_a_loop() -> None:
    asked: list[str | None] = []
    book = {None: {"data": [1], "has_more": True, "next_page": "b"},
            "b": {"data": [2], "has_more": True, "next_page": "c"},
            "c": {"data": [3], "has_more": False, "next_page": None}}
    found = list(pages(lambda cursor: asked.append(cursor) or book[cursor]))
    assert [page["data"] for page in found] == [[1], [2], [3]] and asked == [None, "b", "c"]
    looping = {"data": [], "has_more": True, "next_page": "same"}
    assert len(list(pages(lambda cursor: looping))) == 2   # a cursor seen before ends it
    endless = iter(range(10**6))
    with pytest.raises(RequestError, match="more than 1000 pages"):
        list(pages(lambda cursor: {"data": [], "has_more": True, "next_page": str(next(endless))}))


def test_a_day_report_keeps_exact_amounts_through_the_cache() -> None:
    report = DayReport("2026-12-01", (UsageLine("2026-12-01", "m", Tokens(1, 2, 3, 4, 5)),),
                       (CostLine("2026-12-01", Decimal("0.000123456789"), "m", "output"),))
    assert DayReport.from_json("2026-12-01", report.to_json()) == report


def side(tokens: Tokens, dollars: str, **facts: int) -> Recorded:
    return Recorded(facts.pop("runs", 1), {"standard": tokens}, Decimal(dollars), **facts)


def billed(tokens: Tokens, batch: Tokens = Tokens(), **prices: str) -> Reported:
    """The report of `tokens` at the catalog's prices, but for `prices` ($ per million)."""
    rate = {"uncached_input": 2, "cache_read": Decimal("0.1"), "cache_write_5m": Decimal("2.5"),
            "cache_write_1h": 4, "output": 10}
    rate.update({kind: Decimal(price) for kind, price in prices.items()})
    kinds = {kind: (getattr(tokens, kind) * Decimal(r) + getattr(batch, kind) * Decimal(r) / 2)
             / M for kind, r in rate.items()}
    return Reported({"standard": tokens, "batch": batch}, kinds, has_costs=True)


def gap_of(mine: Recorded, theirs: Reported) -> tuple[Decimal, list]:
    reasons = checked(explain("claude-sonnet-5-5", mine, theirs, SONNET),
                      theirs.billed - mine.dollars)
    return theirs.billed - mine.dollars, reasons


def test_an_exact_match_has_no_reasons() -> None:
    tokens = Tokens(1000, 0, 0, 0, 100)
    gap, reasons = gap_of(side(tokens, "0.003"), billed(tokens))
    assert gap == 0 and reasons == []


def test_runs_outside_the_history_are_priced_at_the_catalog() -> None:
    mine = side(Tokens(1000, 0, 0, 0, 100), "0.003")
    gap, reasons = gap_of(mine, billed(Tokens(3000, 0, 0, 0, 300)))
    assert [r.kind for r in reasons] == ["outside"]
    assert reasons[0].amount == gap == Decimal(2000 * 2 + 200 * 10) / M   # $0.006
    assert "2,000 more uncached input and 200 more output tokens" in reasons[0].text


def test_a_wrong_catalog_price_is_named_with_the_price_the_bill_implies() -> None:
    tokens = Tokens(1000, 0, 0, 0, 400)
    gap, reasons = gap_of(side(tokens, "0.006"), billed(tokens, output="12.5"))
    assert [r.kind for r in reasons] == ["price"] and gap == Decimal(400) * Decimal("2.5") / M
    assert "$12.5/M where the catalog says $10/M" in reasons[0].text
    assert "token counts match" in reasons[0].text and "output = 12.5" in reasons[0].text


def test_the_same_markup_on_every_kind_is_one_reason() -> None:
    tokens = Tokens(1000, 0, 0, 0, 400)
    gap, reasons = gap_of(side(tokens, "0.006"), billed(tokens, uncached_input="2.2", output="11"))
    assert [r.kind for r in reasons] == ["markup"] and reasons[0].amount == gap
    assert "+10.0 %" in reasons[0].text


def test_estimated_runs_explain_a_gap_in_their_output() -> None:
    mine = side(Tokens(500, 0, 0, 0, 16), "0.00116", estimated_runs=1)   # input exact (native)
    gap, reasons = gap_of(mine, billed(Tokens(500, 0, 0, 0, 12)))
    assert [r.kind for r in reasons] == ["estimate"]
    assert reasons[0].amount == gap == Decimal(-4 * 10) / M
    assert "4 fewer output tokens" in reasons[0].text


def test_cache_writes_at_another_ttl_and_batch_discounts_are_told_apart() -> None:
    mine = side(Tokens(0, 0, 1000, 0, 0), "0.0025")                 # recorded as 5-minute writes
    gap, reasons = gap_of(mine, billed(Tokens(0, 0, 0, 1000, 0)))   # billed as 1-hour writes
    assert [r.kind for r in reasons] == ["ttl"] and gap == Decimal(1000) * Decimal("1.5") / M
    mine = side(Tokens(0, 0, 0, 0, 1000), "0.01")                   # recorded at the full price
    gap, reasons = gap_of(mine, billed(Tokens(), batch=Tokens(0, 0, 0, 0, 1000)))
    assert [r.kind for r in reasons] == ["batch"] and reasons[0].amount == gap == Decimal("-0.005")


def test_runs_not_in_the_report_and_a_proxys_price_are_named() -> None:
    mine = side(Tokens(1000, 0, 0, 0, 100), "0.003", runs=2)
    gap, reasons = gap_of(mine, billed(Tokens(500, 0, 0, 0, 50)))
    assert [r.kind for r in reasons] == ["unbilled"] and reasons[0].amount == gap
    tokens = Tokens(1000, 0, 0, 0, 100)
    proxied = Recorded(1, {"standard": tokens}, Decimal("0.0033"), provider_runs=1,
                       provider_dollars=Decimal("0.0033"), provider_tokens={"standard": tokens})
    gap, reasons = gap_of(proxied, billed(tokens))
    assert [r.kind for r in reasons] == ["proxy"] and reasons[0].amount == gap == Decimal("-0.0003")
    assert "+10.0 % against the catalog" in reasons[0].text


def test_days_are_utc_and_bounded() -> None:
    now = dt.datetime(2026, 12, 6, 21, 40, tzinfo=dt.timezone.utc)
    assert days_between("1d", None, now) == ["2026-12-05", "2026-12-06"]
    assert days_between("2026-12-01", "2026-12-03", now) == ["2026-12-01", "2026-12-02",
                                                             "2026-12-03"]
    assert len(days_between("2w", None, now)) == 15
    for since, until, said in (("2026-12-09", None, "comes after"),
                               ("2024-01-01", None, "more than a reconcile covers"),
                               ("last tuesday", None, "is not a day")):
        with pytest.raises(UsageError, match=said):
            days_between(since, until, now)


def test_a_day_kept_is_final_once_it_ended_and_an_open_one_serves_a_minute() -> None:
    now = dt.datetime(2026, 12, 6, 21, 40, tzinfo=dt.timezone.utc)
    assert complete("2026-12-05", now) and not complete("2026-12-06", now)
    assert not complete("2026-12-05", dt.datetime(2026, 12, 6, 0, 30, tzinfo=dt.timezone.utc))
    fetched = (now - dt.timedelta(seconds=30)).isoformat()
    open_day = CachedDay("2026-12-06", {}, fetched, False)
    assert reusable(open_day, now, refresh=False)
    assert not reusable(open_day, now + dt.timedelta(seconds=31), refresh=False)
    assert not reusable(open_day, now, refresh=True)
    final = CachedDay("2026-12-05", {}, fetched, True)
    assert reusable(final, now + dt.timedelta(days=30), refresh=False)


@pytest.mark.parametrize(("overrides", "asked", "where", "provider"), [
    ({}, None, "http://sim.test/v1", "anthropic"),
    ({"base_url": "sim", "api_key": "sk-test-0123456789"}, "openai", "http://sim.test/v1",
     "openai"),
    ({"admin_key": "sk-ant-admin01-0123456789abcdef"}, None, "https://api.anthropic.com/v1/",
     "anthropic"),
    ({"admin_key": "sk-admin-0123456789abcdef", "base_url": "https://api.openai.com/v1"}, None,
     "https://api.openai.com/v1", "openai"),
    ({"admin_key": "sk-ant-admin01-0123456789abcdef", "base_url": "https://api.openai.com/v1"},
     None, "https://api.anthropic.com/v1/", "anthropic"),
    ({"base_url": "http://gateway.test/v1", "api_key": "gw-0123456789"}, None,
     "http://gateway.test/v1", "anthropic"),
])
def test_reports_are_read_where_the_runs_went(overrides, asked, where, provider) -> None:
    found = target(load_settings(overrides, environ={}), asked, lambda: "http://sim.test/v1")
    assert (found.endpoint.base_url, found.provider) == (where, provider)
    assert found.simulator == (where == "http://sim.test/v1")
    key = overrides.get("admin_key")
    assert found.source().startswith(f"{provider} {found.origin} ")
    assert key is None or key not in found.source() and key[-8:] not in found.source()


@pytest.mark.parametrize(("overrides", "asked", "said"), [
    ({"api_key": "sk-ant-api03-0123456789abcdef"}, None, "admin_key_env=VARIABLE"),
    ({"admin_key": "sk-ant-admin01-0123456789abcdef"}, "openai", "--provider anthropic"),
])
def test_a_provider_without_its_admin_key_is_refused_before_sending(overrides, asked,
                                                                     said) -> None:
    with pytest.raises(UsageError, match=said):
        target(load_settings(overrides, environ={}), asked, lambda: "http://sim.test/v1")


def test_the_report_cache_table_is_migrated_with_its_columns() -> None:
    from opus_magic.store.sqlite import Store

    store = Store(":memory:")
    columns = [row[1] for row in store.connection().execute("PRAGMA table_info(report_days)")]
    assert columns == ["source", "day", "report", "fetched_at", "complete"]
    names = [row[0] for row in store.connection().execute("SELECT name FROM _migrations")]
    assert "m013_report_cache" in names
