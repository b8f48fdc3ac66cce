"""Keys stay hidden after parsing too: a key an endpoint echoes split across stream deltas, in
thinking, written with JSON escapes or in a redirect's Location shows only masked, on screen and
in the history; a history_url password the driver cannot read is never printed, and the advice
is to percent-encode it. Through the magic over real HTTP against a hostile server."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from echo_endpoint import PLANTED, Raw, chunk, echo_endpoint
from hypothesis import given, settings
from hypothesis import strategies as st

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.secret import SecretUrl, password_of, without_password
from opus_magic.wire.scrub import Scrubber

KEY = "sk-ant-api03-CANARYk3y7q9Zx5Lm2Vb8Nc4Hd6Jf1Gs0WXYZ"
MASKED = "sk-…WXYZ"
PIECES = (KEY, KEY[13:-4], KEY[13:21], KEY[-12:-4])  # the key and pieces that identify it


def leaks(data: str | bytes) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [piece for piece in PIECES if piece.encode() in raw]


def files(history: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (history, Path(f"{history}-wal")) if p.exists())


def usage() -> dict[str, object]:
    return {**chunk({}), "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 6}}


@pytest.fixture
def keyed(ip, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    ip.run_line_magic("opus", "config max_retries=0")
    with echo_endpoint() as root:
        yield ip, root
    PLANTED.clear()


def ask(ip, capsys, root: str, case: str, flags: str = "-m gpt-4o") -> tuple[str, object]:
    ip.run_line_magic("opus", f"config base_url={root}/{case}/v1")
    ip.run_cell_magic("opus", flags, "Echo it back.")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out + err, opus_magic.last_run()


@pytest.mark.parametrize("cuts", [[10], [3, 20], [1, 2, 3, 4, 5, 30], list(range(1, len(KEY)))])
def test_a_key_split_across_deltas_is_masked_on_screen_and_in_history(keyed, capsys, caplog,
                                                                      isolated_dirs, cuts) -> None:
    ip, root = keyed
    text = f"Your key is {KEY}, really."
    bounds = [0, *(len("Your key is ") + c for c in cuts), len(text)]
    PLANTED["split"] = (200, {}, [chunk({"content": text[a:b]}) for a, b in
                                  zip(bounds, bounds[1:])] + [chunk({}, "stop"), usage()])
    shown, record = ask(ip, capsys, root, "split")
    assert record.text == f"Your key is {MASKED}, really." and record.text in shown
    assert leaks(shown) == [] and leaks(caplog.text) == []
    assert leaks(files(isolated_dirs / "history.sqlite")) == []
    assert record.usage.output_tokens == 6 and record.cost_exact   # nothing else changed


def test_a_key_split_across_thinking_and_text_on_the_messages_api(keyed, capsys,
                                                                  isolated_dirs) -> None:
    ip, root = keyed
    events = [{"type": "message_start", "message": {"model": "claude-echo",
                                                    "usage": {"input_tokens": 9}}}]
    for index, (kind, field) in enumerate([("thinking_delta", "thinking"),
                                           ("text_delta", "text")]):
        for piece in (f"The key {KEY[:17]}", f"{KEY[17:]} was sent."):
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": kind, field: piece}})
    events += [{"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 12}}]
    PLANTED["native"] = (200, {}, events)
    ip.run_line_magic("opus", "config api=anthropic")
    shown, record = ask(ip, capsys, root, "native", "-m haiku")
    assert record.text == f"The key {MASKED} was sent."
    assert record.thinking_text == f"The key {MASKED} was sent."
    assert leaks(shown) == [] and leaks(files(isolated_dirs / "history.sqlite")) == []


@pytest.mark.parametrize("flags", ["-m gpt-4o", "-m gpt-4o --no-stream"])
def test_a_key_written_with_json_escapes_is_masked(keyed, capsys, isolated_dirs, flags) -> None:
    ip, root = keyed
    escaped = json.dumps(chunk({"content": f"Escaped {KEY} here."})).replace("-", "\\u002d")
    PLANTED["escaped"] = (200, {}, [Raw(escaped), chunk({}, "stop"), usage()])
    shown, record = ask(ip, capsys, root, "escaped", flags)
    assert record.text == f"Escaped {MASKED} here."
    shown_error, failed = ask(ip, capsys, root, "escaped_error", flags)
    assert failed.status == "error" and MASKED in failed.error
    assert leaks(shown + shown_error) == [] and leaks(repr(record) + repr(failed)) == []
    assert leaks(files(isolated_dirs / "history.sqlite")) == []


def test_a_redirect_whose_location_echoes_the_key_shows_it_masked(keyed, capsys,
                                                                  isolated_dirs) -> None:
    ip, root = keyed
    shown, record = ask(ip, capsys, root, "redirect_echo")
    assert record.status == "error" and f"moved to https://elsewhere.example/v1?key={MASKED}" \
        in record.error
    assert record.error in shown and leaks(shown) == [] and leaks(record.error) == []
    assert leaks(files(isolated_dirs / "history.sqlite")) == []


@settings(max_examples=200, deadline=None)
@given(before=st.text(max_size=30), after=st.text(max_size=30),
       cuts=st.lists(st.integers(0, 120), max_size=8), twice=st.booleans())
def test_text_in_any_pieces_comes_out_masked_and_only_ever_grows(before, after, cuts,
                                                                 twice) -> None:
    text = before + KEY + after + (KEY if twice else "")
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
    stream = Scrubber(KEY).stream()
    shown = ""
    for piece in pieces:
        shown += stream.feed(piece)
        assert leaks(shown) == [] or KEY[13:21] in (before + after)
    shown += stream.flush()
    assert shown == text.replace(KEY, MASKED)


@pytest.mark.parametrize("password", ["secret%zz", "pa ss#x", "p@ss/w?rd", "top:secret"])
def test_a_history_url_password_the_driver_cannot_read_is_never_printed(ip, simulator, capsys,
                                                                        password) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://ann:{password}@127.0.0.1:9/history"
    shown = without_password(url)
    assert password not in shown and shown.startswith("postgresql://ann@")
    assert password_of(url) == password and password not in repr(SecretUrl(url))
    ip.run_line_magic("opus", f"config history_url={url}")
    ip.run_cell_magic("opus", "-m haiku --max-tokens 5", "Hello.")
    ip.run_line_magic("opus", "history")
    out, err = capsys.readouterr()
    assert password not in out + err and "Traceback" not in out + err
    bits = [part for part in password.replace("%", " ").replace("#", " ").replace("@", " ")
            .replace("/", " ").replace("?", " ").replace(":", " ").split() if len(part) > 2]
    assert not any(bit in out + err for bit in bits), (bits, out + err)
    if password in ("secret%zz", "pa ss#x"):   # what the driver itself refuses to read
        assert "must be percent-encoded in the URL (@ is %40" in err
    default_session().configure(history_url="")


def test_a_history_url_that_is_not_postgresql_is_refused_and_makes_no_file(
        ip, simulator, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("mysql://ann:hunter22@db/h", "my shared history"):
        ip.run_line_magic("opus", f"config history_url={url}")
        err = capsys.readouterr().err
        assert err.startswith("opus: Setting 'history_url' cannot be")
        assert "use postgresql://user@host:5432/dbname" in err and "history_path" in err
        assert "hunter22" not in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", "mysql://ann:hunter22@db/h")
    ip.run_cell_magic("opus", "-m haiku", "Hello.")
    err = capsys.readouterr().err
    assert "Setting 'history_url' cannot be 'mysql://ann@db/h'" in err and "hunter22" not in err
    assert list(tmp_path.iterdir()) == [] and simulator.requests() == []
