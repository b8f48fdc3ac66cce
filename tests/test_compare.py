"""Fan-out over several models, routing per profile, summaries, and `%opus compare`."""
from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

import opus_magic
from opus_magic import sim
from opus_magic.core.comparison import rank
from opus_magic.records import RunRecord, Usage
from opus_magic.view.commands.compare import CLOSE, compare_text, diff_text, word_diff


def run(text: str, run_id: str) -> RunRecord:
    return RunRecord(id=run_id, created_at="2026-01-01T00:00:00Z", model="opus", prompt="p",
                     text=text, status="ok", finish_reason="stop", usage=Usage(10, 10),
                     cost=Decimal("0.001"), cost_exact=True, ttft_s=0.1, duration_s=1.0)


def write_config(isolated_dirs: Path, text: str) -> None:
    path = isolated_dirs / "config" / "opus_magic" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_fan_out_runs_models_at_once_with_one_comparison_id(ip, simulator, capsys) -> None:
    simulator.configure(tokens_per_second={"claude-opus-5-5": 300, "gpt-4o": 100}, answer_tokens=200)
    ip.run_cell_magic("opus", "-m opus,4o -o answers --tag ab", "Which of you is faster?")
    out = capsys.readouterr().out
    seen = simulator.requests_ended(2)         # the server notes each end after the client's read
    assert sorted(r.model for r in seen) == ["claude-opus-5-5", "gpt-4o"]
    opus_request, gpt_request = sorted(seen, key=lambda r: r.model)
    # the two requests were on the wire at the same time: the slow one does not wait for the fast
    assert max(r.started_at for r in seen) < min(r.ended_at for r in seen)
    span = max(r.ended_at for r in seen) - min(r.started_at for r in seen)
    assert span < sum(r.ended_at - r.started_at for r in seen)
    assert opus_request.ended_at < gpt_request.ended_at
    assert out.index("✓ opus") < out.index("✓ 4o")           # progress lines in finishing order
    runs = {r.model: r for r in opus_magic.history(tag="ab")}
    assert set(runs) == {"opus", "4o"}
    assert runs["opus"].comparison_id and runs["opus"].comparison_id == runs["4o"].comparison_id
    assert ip.user_ns["answers"] == [runs["opus"].text, runs["4o"].text]
    assert all(r.status == "ok" and r.usage.output_tokens == 200 for r in runs.values())
    # same tokens, gpt-4o's prices are lower; opus streamed 4x faster
    summary = out[out.rindex("model "):]
    assert re.search(r"claude-opus-5-5 \(simulator\).*← fastest", summary)
    assert re.search(r"gpt-4o \(simulator\).*← cheapest", summary)
    assert runs["opus"].comparison_id in out


def test_a_model_that_cannot_be_routed_does_not_stop_the_others(ip, simulator, isolated_dirs,
                                                                   capsys) -> None:
    write_config(isolated_dirs, '[routes]\n"gpt-4o" = "nowhere"\n')
    ip.run_cell_magic("opus", "-m opus,4o,haiku -o answers", "hello")
    captured = capsys.readouterr()
    assert "not run: 4o: Unknown profile 'nowhere'" in captured.out
    assert sorted(r.model for r in simulator.requests()) == ["claude-haiku-5-5", "claude-opus-5-5"]
    assert len(ip.user_ns["answers"]) == 2 and all(ip.user_ns["answers"])
    ip.run_cell_magic("opus", "-m 4o,gpt-4o", "hello")
    err = capsys.readouterr().err
    assert "Unknown profile 'nowhere'" in err and len(err.strip().splitlines()) == 1


def test_each_model_is_routed_to_its_own_profile_and_one_failing_endpoint_spares_the_other(
        ip, simulator, isolated_dirs, monkeypatch, capsys) -> None:
    other = sim.start()
    try:
        write_config(isolated_dirs, f"""
[profiles.anthropic]
base_url = "{simulator.base_url}"
api_key_env = "ANTHROPIC_TEST_KEY"

[profiles.openai]
base_url = "{other.base_url}"
api_key_env = "OPENAI_TEST_KEY"

[routes]
"claude-opus-5-5" = "anthropic"
"gpt-4o" = "openai"
""")
        monkeypatch.setenv("ANTHROPIC_TEST_KEY", "sk-ant-test-0123456789")
        monkeypatch.setenv("OPENAI_TEST_KEY", "sk-openai-test-0123456789")
        ip.run_cell_magic("opus", "-m opus,4o --tag routed", "Hello to both providers.")
        assert [r.model for r in simulator.requests()] == ["claude-opus-5-5"]
        assert [r.model for r in other.requests()] == ["gpt-4o"]
        runs = {r.model: r for r in opus_magic.history(tag="routed")}
        assert runs["opus"].endpoint == simulator.base_url
        assert runs["opus"].profile == "anthropic"
        assert runs["4o"].endpoint == other.base_url and runs["4o"].profile == "openai"
        assert runs["opus"].comparison_id == runs["4o"].comparison_id

        other.scenario("401")
        capsys.readouterr()
        ip.run_cell_magic("opus", "-m opus,4o --tag half", "Once more.")
        out = capsys.readouterr().out
        runs = {r.model: r for r in opus_magic.history(tag="half")}
        assert runs["opus"].status == "ok" and runs["opus"].text in out
        assert runs["4o"].status == "error" and "401" in (runs["4o"].error or "")
        assert runs["opus"].comparison_id == runs["4o"].comparison_id
        assert "sk-openai-test-0123456789" not in out + (runs["4o"].error or "")
    finally:
        other.stop()


def record(run_id: str, status: str = "ok", cost: str | None = "0.01", duration: float = 1.2,
           text: str = "") -> RunRecord:
    return RunRecord(id=run_id, created_at="2026-11-20T10:00:00.000+00:00", model=run_id, prompt="p",
                     text=text, status=status, usage=Usage(100, 50),
                     cost=None if cost is None else Decimal(cost), cost_exact=cost is not None,
                     ttft_s=0.2, duration_s=duration)


@pytest.mark.parametrize("runs, cheapest, fastest", [
    ([record("a", cost="0.02", duration=1.0), record("b", cost="0.01", duration=2.0)], ["b"], ["a"]),
    ([record("a", cost="0.01"), record("b", cost="0.01", duration=0.8)], ["a", "b"], ["b"]),
    ([record("a", status="error", cost="0", duration=0.8), record("b"), record("c", cost="0.03")],
     ["b"], ["b", "c"]),
    ([record("a", cost=None), record("b", cost="0.05", duration=3.0)], ["b"], ["a"]),
    ([record("a", cost="0.02"), record("b", cost="0.01", duration=0.3)], ["b"], []),
    ([record("a")], [], []),
])
def test_summary_marks_cheapest_and_fastest_among_answered(runs, cheapest, fastest) -> None:
    rows = rank(runs)
    assert [r.record.id for r in rows] == [r.id for r in runs]
    assert [r.record.id for r in rows if r.cheapest] == cheapest
    assert [r.record.id for r in rows if r.fastest] == fastest
    assert [r.id for r in runs if r.tokens_per_s is None] == [
        r.id for r in runs if r.duration_s - 0.2 < 0.5]


def test_word_diff_turns_one_text_into_the_other() -> None:
    old, new = "The quick brown fox\njumps over", "The slow brown fox\njumps high over it"
    pieces, same = word_diff(old, new)
    assert [w for op, t in pieces if op != "+" for w in t.split()] == old.split()
    assert [w for op, t in pieces if op != "-" for w in t.split()] == new.split()
    assert same == pytest.approx(2 * 5 / (6 + 8))
    assert diff_text(pieces) == "The [-quick-] {+slow+} brown fox\njumps {+high+} over {+it+}"


def strip(html: str, tag: str) -> str:
    """The visible words once every <tag>…</tag> is removed and other markup dropped."""
    without = re.sub(rf"<{tag}\b[^>]*>.*?</{tag}>", "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", without))


def test_compare_shows_numbers_and_a_highlighted_word_diff(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m opus", "Explain prompt caching.")
    first = opus_magic.last_run()
    ip.run_cell_magic("opus", "-m 4o --concise", "Explain prompt caching.")
    second = opus_magic.last_run()
    assert first.text != second.text
    capsys.readouterr()
    with capture_output() as shown:
        ip.run_line_magic("opus", f"compare {first.id} {second.id[:6]}")
    html, text = shown.outputs[0].data["text/html"], shown.outputs[0].data["text/plain"]
    assert "<ins" in html and "<del" in html
    column = html[html.rindex("white-space:pre-wrap"):].split(">", 1)[1]
    assert strip(column, "del").split() == second.text.split()
    assert strip(column, "ins").split() == first.text.split()
    ratio = second.cost / first.cost
    change = second.usage.output_tokens - first.usage.output_tokens
    for shown_text in (html, text):
        assert f"(×{ratio:.2f})" in shown_text
        assert f"({change:+,})" in shown_text
        assert first.id in shown_text and second.id in shown_text
    assert "cheapest" in text
    if word_diff(first.text, second.text)[1] >= CLOSE:  # close answers: a word diff in text too
        assert "[-" in text and "{+" in text
    else:  # unrelated answers: each shown whole, the marked diff only a click away in HTML
        assert second.text in text and "too different for a word diff" in text


def test_a_word_diff_only_for_close_answers() -> None:
    first = run("The quick brown fox jumps over the lazy dog today.", "r1")
    close = run("The quick brown fox leaps over the lazy dog today.", "r2")
    unrelated = run("Bloom filters answer set membership with false positives.", "r3")
    text = compare_text([first, close, unrelated])
    assert "[-jumps-] {+leaps+}" in text
    assert unrelated.text in text and "too different for a word diff" in text
    assert "[-" not in text.split("r3")[-1]


def test_compare_accepts_a_comparison_id(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m opus,haiku,4o", "Name three colours.")
    runs = opus_magic.history(limit=3)
    comparison = runs[0].comparison_id
    capsys.readouterr()
    ip.run_line_magic("opus", f"compare {comparison}")
    out = capsys.readouterr().out
    assert all(run.id in out for run in runs)
    assert out.count("% of words as in the first") == 2   # each model in its own words
    assert "100% of words as in the first" not in out


@pytest.mark.parametrize("line, expected", [
    ("compare", "Compare needs at least two runs"),
    ("compare nosuchrun", "No run or comparison 'nosuchrun'"),
])
def test_compare_bad_input_is_one_line(ip, simulator, capsys, line, expected) -> None:
    ip.run_line_magic("opus", line)
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
