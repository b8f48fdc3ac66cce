"""Attachments below the magic: bodies written as they are sent, the cache breakpoint on the last
attachment, what caching saves over several questions, and the history's attachments table."""
from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from media_support import png_bytes

from opus_magic.core.run.attach.attached import Attached, counted_each
from opus_magic.core.run.caching import cache_line, plan_cache
from opus_magic.cost.catalog import default_catalog
from opus_magic.media import load
from opus_magic.records import AttachedFile, RunRecord
from opus_magic.store.attachments import uploaded_file
from opus_magic.store.migrations import migrate
from opus_magic.store.sqlite import Store
from opus_magic.wire.body.payload import Encoded, json_body, plain

PNG = png_bytes(30, 20)


def test_a_body_is_written_as_httpx_would_write_it_with_the_bytes_encoded_on_the_way() -> None:
    data = bytes(range(256)) * 1000  # not a multiple of the slice, nor of 3
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "data": Encoded(data, key="k")}},
        {"type": "image_url", "image_url": {"url": Encoded(PNG, "data:image/png;base64,")}},
        {"type": "text", "text": "Qu'est-ce que c'est ? ✓"}]}]}
    length, chunks = json_body(body)
    written = b"".join(chunks())
    expected = json.dumps(plain(body), ensure_ascii=False, separators=(",", ":")).encode()
    assert written == expected and length == len(expected)
    assert b"".join(chunks()) == written  # each attempt writes the body afresh
    assert json.loads(written)["messages"][0]["content"][0]["source"]["data"] == (
        base64.b64encode(data).decode())
    small = {"model": "m", "max_tokens": 5}
    assert b"".join(json_body(small)[1]()) == json.dumps(small, separators=(",", ":")).encode()


def test_an_encoded_value_stands_for_its_text_and_names_itself_by_hash() -> None:
    value = Encoded(PNG, "data:image/png;base64,", key="ab12")
    text = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert value == text and len(value) == len(text) and value.text() == text
    assert "sha256=ab12" in repr(value) and base64.b64encode(PNG).decode() not in repr(value)


def test_attachments_are_marked_only_when_asked_for_5m_or_1h() -> None:
    info = default_catalog().get("claude-opus-4-6")  # 4,096-token minimum prefix
    marked = plan_cache("1h", "claude-opus-4-6", info, 0, 30, 0, 5_000, "manual.pdf")
    assert marked.breakpoints == ("attachments",) and marked.prefix_tokens == 5_030
    line = cache_line(marked, info, 5_050)
    assert "attachments (the breakpoint on the last, manual.pdf) marked" in line
    assert "another question about the same attachments reads them at the cache price" in line
    auto = plan_cache("auto", "claude-opus-4-6", info, 0, 0, 0, 5_000, "manual.pdf")
    assert auto.breakpoints == () and "only with --cache 5m or 1h" in auto.why
    short = plan_cache("5m", "claude-opus-4-6", info, 0, 0, 0, 300, "chart.png")
    assert short.breakpoints == ()


def test_each_attachment_is_counted_by_the_difference_count_tokens_makes() -> None:
    image, other = load(PNG, "a.png"), load(png_bytes(40, 40), "b.png")
    attached = Attached(((image,), (other,)), (None, None))  # type: ignore[arg-type]
    seen = []

    def count(turns):
        seen.append(tuple(len(group) for group in turns))
        return 100 + sum(len(group) for group in turns) * 10 + (5 if turns[1] else 0)

    assert counted_each(attached, 125, count).exact == ()  # two: only when each is asked for
    each = counted_each(attached, 125, count, each=True)
    assert each.exact == (10, 15) and seen == [(0, 0), (1, 0), (0, 1)]
    lone = Attached(((image,),), (None,))  # type: ignore[arg-type]
    assert counted_each(lone, 130, lambda turns: 100).exact == (30,)
    assert counted_each(lone, 130, lambda turns: None).exact == ()


def test_the_attachments_table_holds_what_a_run_attached(tmp_path) -> None:
    store = Store(tmp_path / "h.sqlite")
    columns = [row[1] for row in store.connection().execute("PRAGMA table_info(attachments)")]
    assert columns == ["run_id", "position", "turn", "name", "media_type", "kind", "size",
                       "sha256", "width", "height", "pages", "tokens", "tokens_exact", "file_id",
                       "source", "notes", "data"]
    pdf = AttachedFile(name="manual.pdf", media_type="application/pdf", kind="pdf", size=900,
                       sha256="ff" * 32, pages=2, tokens=3203, tokens_exact=True,
                       file_id="file_1", source="/tmp/manual.pdf")
    chart = AttachedFile(name="chart.png", media_type="image/png", kind="image", size=len(PNG),
                         sha256="aa" * 32, pixels=(30, 20), tokens=1, turn=1, data=PNG,
                         notes=("a PIL image",))
    record = RunRecord(id="r1", created_at="2026-01-01T00:00:00+00:00", model="m", prompt="p",
                       endpoint="https://api.anthropic.com", attachments=[pdf, chart])
    store.save(record)
    store.save(record)  # saved again: still one set
    assert store.get("r1").attachments == [pdf, chart]
    assert uploaded_file(store, "ff" * 32, "https://api.anthropic.com") == "file_1"
    assert uploaded_file(store, "ff" * 32, "https://elsewhere.example") is None
    assert uploaded_file(store, "aa" * 32, "https://api.anthropic.com") is None


def test_the_migration_adds_the_table_to_an_existing_history(tmp_path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.sqlite", isolation_level=None)
    assert "m012_attachments" in migrate(db)
    assert migrate(db) == []
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "attachments" in tables


@pytest.mark.parametrize("model, tokens, dollars", [
    ("gpt-4o", 85 + 170 * 2, "0.0010625"),  # × $2.50 a million
    ("gpt-4o-mini", 2833 + 5667 * 2, "0.00212505"),  # × $0.15 a million
])
def test_gpt_4o_mini_counts_an_image_at_its_own_tile_rate(model, tokens, dollars) -> None:
    from opus_magic.media import prepare

    info = default_catalog().get(model)
    prepared = prepare([load(png_bytes(600, 400), "chart.png")], info)
    assert prepared.tokens == tokens  # 600×400: two 512-px tiles
    assert prepared.cost(info) == Decimal(dollars)


def test_exports_list_attachments_without_their_bytes() -> None:
    import io

    from opus_magic.store.export import write_runs

    kept = AttachedFile(name="chart.png", media_type="image/png", kind="image", size=len(PNG),
                        sha256="aa" * 32, pixels=(30, 20), tokens=1, data=PNG)
    record = RunRecord(id="r1", created_at="2026-01-01T00:00:00+00:00", model="m", prompt="p",
                       attachments=[kept])
    out = io.StringIO()
    write_runs([record], "jsonl", out)
    [listed] = json.loads(out.getvalue())["attachments"]
    assert listed["name"] == "chart.png" and listed["pixels"] == [30, 20] and "data" not in listed


def test_a_postgresql_history_keeps_attachments_and_their_kept_bytes(pg_url) -> None:
    from opus_magic.store.postgres import PgStore

    store = PgStore(pg_url)
    kept = AttachedFile(name="chart.png", media_type="image/png", kind="image", size=len(PNG),
                        sha256="bb" * 32, pixels=(30, 20), tokens=1, file_id="file_9", data=PNG)
    record = RunRecord(id="pg1", created_at="2026-01-01T00:00:00+00:00", model="m", prompt="p",
                       endpoint="https://api.anthropic.com", attachments=[kept])
    store.save(record)
    assert store.get("pg1").attachments == [kept]
    assert uploaded_file(store, "bb" * 32, "https://api.anthropic.com") == "file_9"
