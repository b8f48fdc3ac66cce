"""`%%opus` driven through a real IPython shell against the simulator over real HTTP."""
from __future__ import annotations

import sqlite3
from decimal import Decimal

import opus_magic
from opus_magic.cost import tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import usage_cost


def test_stream_store_and_variable_hold_identical_text(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m opus -o answer --tag first", "Explain prompt caching in one paragraph.")
    out = capsys.readouterr().out
    run = opus_magic.last_run()
    assert run.status == "ok" and run.finish_reason == "stop"
    assert run.text and run.text in out
    assert ip.user_ns["answer"] == run.text
    stored = opus_magic.history(limit=1)[0]
    assert stored.id == run.id and stored.text == run.text
    assert run.model == "opus" and run.response_model == "claude-opus-5-5"
    assert run.tag == "first"
    # usage is the server's, cost is usage × catalog price, exactly
    assert run.cost_exact and run.cost_source == "catalog"
    assert run.usage.output_tokens == tokens.count_text(run.text, "claude-opus-5-5")
    assert run.cost == usage_cost(run.usage, default_catalog().get("opus"))
    assert f"run {run.id}" in out and "claude-opus-5-5 (simulator)" in out
    assert simulator.requests()[-1].stream is True


def test_flags_reach_the_wire(ip, simulator) -> None:
    # Sonnet 4.5: the current Sonnet takes only its default temperature
    ip.run_cell_magic("opus", '-m sonnet-4.5 --max-tokens 7 -t 0.3 -s "You are a pirate." '
                      '--concise', "Tell me about ships.")
    run = opus_magic.last_run()
    sent = simulator.requests()[-1]
    assert sent.model == "claude-sonnet-4-5" and sent.max_tokens == 7
    assert sent.messages[0]["role"] == "system"
    assert sent.messages[0]["content"].startswith("You are a pirate.")
    assert "concise" in sent.messages[0]["content"].lower()
    assert run.concise == "concise" and run.params["temperature"] == 0.3
    assert run.finish_reason == "length" and run.usage.output_tokens == 7
    assert run.messages == sent.messages


def test_code_only_and_no_stream(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "--code-only --no-stream -o code", "Reverse a list in Python.")
    run = opus_magic.last_run()
    assert simulator.requests()[-1].stream is False
    assert run.concise == "code" and "```" in run.text
    assert run.cost_exact and ip.user_ns["code"] == run.text
    assert run.text in capsys.readouterr().out


def test_interpolation_and_literal_braces(ip, simulator, capsys) -> None:
    ip.user_ns["topic"] = "WAL mode"
    ip.user_ns["cfg"] = {"db": ["sqlite"]}
    ip.run_cell_magic("opus", "", "About {topic} in {cfg['db'][0]}: _data = {} and {missing_name}.")
    prompt = simulator.requests()[-1].messages[-1]["content"]
    assert prompt == "About WAL mode in sqlite: _data = {} and {missing_name}."
    assert "{missing_name}" in capsys.readouterr().out
    ip.run_cell_magic("opus", "--no-interpolate", "Keep {topic} as is.")
    assert simulator.requests()[-1].messages[-1]["content"] == "Keep {topic} as is."


def test_bad_input_gets_one_line_and_sends_nothing(ip, simulator, capsys) -> None:
    for line, cell, expected in [
        ("--max-tokens zero", "hi", "max_tokens"),
        ("--max-tokens -5", "hi", "max_tokens"),
        ("-t 7", "hi", "Temperature 7 is out of range"),
        ("--frobnicate", "hi", "unrecognized arguments"),
        ("", "   \n", "The cell is empty"),
        ("--profile nowhere", "hi", "Unknown profile 'nowhere'"),
    ]:
        ip.run_cell_magic("opus", line, cell)
        err = capsys.readouterr().err
        assert expected in err, (line, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert simulator.requests() == []


def test_max_tokens_above_the_ceiling_is_clamped_visibly(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m claude-opus-4-1 --max-tokens 50000", "hi")
    assert simulator.requests()[-1].max_tokens == 32_000
    assert "clamped to 32,000" in capsys.readouterr().out
    assert opus_magic.last_run().max_tokens == 32_000


def test_prompt_beyond_the_context_window_is_refused_before_sending(ip, simulator, capsys) -> None:
    ip.user_ns["big"] = "word " * 130_000
    ip.run_cell_magic("opus", "-m gpt-4o --max-tokens 1000", "{big}")
    err = capsys.readouterr().err
    assert "context window" in err and "128,000" in err
    assert simulator.requests() == []


def test_cache_figures_and_hand_worked_cost(ip, simulator, capsys) -> None:
    ip.user_ns["doc"] = "alpha beta gamma delta " * 1200   # far above Opus 5.5's 512-token minimum
    ip.run_cell_magic("opus", "--max-tokens 40", "{doc}\nSummarise.")
    first = opus_magic.last_run()
    ip.run_cell_magic("opus", "--max-tokens 40", "{doc}\nSummarise.")
    second = opus_magic.last_run()
    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens > 4096
    u = second.usage
    # Opus 5.5: input $4/M, reads 5 % of it ($0.20/M), 5-minute writes 1.25× ($5/M), output $20/M
    by_hand = (Decimal(u.uncached_input_tokens) * 4 + Decimal(u.cache_read_tokens) * Decimal("0.20")
               + Decimal(u.cache_write_tokens) * 5 + Decimal(u.output_tokens) * 20) / 10**6
    assert second.cost == by_hand
    assert "cache read" in capsys.readouterr().out


def test_config_masks_the_key_and_session_settings_apply(ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "config model=haiku max_tokens=64")
    assert "haiku" in capsys.readouterr().out
    ip.run_line_magic("opus", "config")
    out = capsys.readouterr().out
    assert "sk-test-0123456789abcdef" not in out and "…cdef" in out
    ip.run_cell_magic("opus", "", "hi")
    sent = simulator.requests()[-1]
    assert (sent.model, sent.max_tokens) == ("claude-haiku-5-5", 64)
    ip.run_line_magic("config", "OpusMagics.max_tokens = 33")
    ip.run_cell_magic("opus", "--max-tokens 21", "hi")
    assert simulator.requests()[-1].max_tokens == 21       # flags beat session settings
    ip.run_cell_magic("opus", "", "hi")
    assert simulator.requests()[-1].max_tokens == 33


def test_history_and_show(ip, simulator, capsys, isolated_dirs) -> None:
    ip.run_cell_magic("opus", "--tag t1", "first prompt")
    ip.run_cell_magic("opus", "-m 4o --tag t2", "second prompt")
    capsys.readouterr()
    ip.run_line_magic("opus", "history -n 5")
    table = capsys.readouterr().out
    assert "first prompt" in table and "second prompt" in table
    ip.run_line_magic("opus", "history --tag t2")
    table = capsys.readouterr().out
    assert "second prompt" in table and "first prompt" not in table
    run_id = opus_magic.last_run().id
    ip.run_line_magic("opus", f"show {run_id[:6]}")
    shown = capsys.readouterr().out
    assert run_id in shown and "second prompt" in shown and opus_magic.last_run().text in shown
    rows = sqlite3.connect(isolated_dirs / "history.sqlite").execute("SELECT count(*) FROM runs").fetchone()
    assert rows[0] == 2


def test_python_api_run(simulator, monkeypatch) -> None:
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    record = opus_magic.run("Hello there", model="4o", max_tokens=12, tag="api")
    assert record.status == "ok" and record.usage.output_tokens <= 12
    assert opus_magic.last_run() is record
    assert opus_magic.history(limit=1, tag="api")[0].id == record.id


def test_without_key_the_simulator_answers_and_says_so(monkeypatch, capsys) -> None:
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("reload_ext", "opus_magic")
    shell.run_cell_magic("opus", "", "hi")
    out = capsys.readouterr().out
    assert "built-in simulator" in out and "(simulator)" in out
    assert opus_magic.last_run().status == "ok"
