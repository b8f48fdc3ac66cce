"""Properties over many generated cases: cut streams keep exactly what arrived, and no argument
line, however odd, produces a traceback."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.sim.content.text import answer_chunks

EXAMPLES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(after=st.integers(min_value=1, max_value=120), mode=st.sampled_from(["close", "reset"]),
       prompt=st.sampled_from(["Explain WAL mode.", "Why do streams break?", "Summarise HTTP/1.1."]))
def test_a_stream_cut_anywhere_keeps_exactly_the_prefix_sent(ip, simulator, capsys, after, mode,
                                                             prompt) -> None:
    simulator.scenario("cut", after=after, mode=mode, times=1)
    ip.run_cell_magic("opus", "", prompt)
    out, err = capsys.readouterr()
    record = opus_magic.last_run()
    sent = simulator.requests()[-1]
    prefix = "".join(answer_chunks(sent.messages, model=sent.model)[:after])
    assert record.status == "interrupted" and record.text == prefix
    assert record.finish_reason is None and not record.cost_exact
    assert opus_magic.history(limit=1)[0].text == prefix
    assert "Traceback" not in out + err and err == ""


FLAGS = ["-m", "--model", "--max-tokens", "-t", "--temperature", "-s", "--system", "--concise",
         "--code-only", "--no-stream", "-o", "--output", "--tag", "--dry-run", "--no-interpolate",
         "--profile", "--tools", "--continue", "--", "-", "-x", "--frobnicate", "--max-tokens=",
         "-m=opus"]
VALUES = ["opus", "haiku", "sonnet,4o", "gpt-4o", "nope-model", ",", "0", "-1", "1", "7", "1e3",
          "99999999999", "0.5", "2.5", "nan", "-inf", "'quoted value'", '"double"', "''", "'",
          '"', "{name}", "\\", "tools_ok", "tools_bad", "missing_var", "$", "%", "a b", "é", "—"]
WORD = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                         max_size=8))
CELLS = st.sampled_from(["hi", "Explain {name}.", "  \n", "{{literal}} {undefined}", "x" * 50])


@EXAMPLES
@given(words=st.lists(WORD, max_size=6), cell=CELLS)
def test_no_argument_line_ever_produces_a_traceback(ip, simulator, capsys, words, cell) -> None:
    default_session().sleep = lambda seconds: None
    ip.user_ns.update(name="caching", tools_ok=[{"type": "function", "function": {"name": "f"}}],
                      tools_bad=[{"nope": 1}])
    line = " ".join(words)
    ip.run_cell_magic("opus", line, cell)           # any exception escaping here fails the test
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) <= 1, (line, err)
    if err:
        assert err.startswith("opus: "), (line, err)


@pytest.mark.parametrize("line", ['-s "unterminated', "--tag 'open", '-m "opus'])
def test_unbalanced_quotes_are_a_one_line_error(ip, simulator, capsys, line) -> None:
    ip.run_cell_magic("opus", line, "hi")
    out, err = capsys.readouterr()
    assert err.startswith("opus: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err and simulator.requests() == []


SUBCOMMANDS = ["config", "history", "stats", "show", "compare", "budget", "models", "help",
               "frobnicate", ""]
LINE_WORDS = st.one_of(
    st.sampled_from(["model=opus", "system=You're terse", "api_key_env=", "timeout_s=",
                     "stream=maybe", "budget", "inf", "1e999", "-n", "99999999999999999999",
                     "--since", "99999999d", "--search", "don't", "--tag", "--by", "tag", "'",
                     '"', "\\", "=", "max_retries=-1", "view=tv", "base_url=http://[::1",
                     "history_path=a\x00b"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10))


@EXAMPLES
@given(sub=st.sampled_from(SUBCOMMANDS), words=st.lists(LINE_WORDS, max_size=5))
def test_no_percent_opus_line_ever_produces_a_traceback(ip, simulator, capsys, sub, words
                                                        ) -> None:
    line = " ".join([sub, *words]).replace("api_key ", "api_key=x ")   # no prompt for a key
    ip.run_line_magic("opus", line)                  # any exception escaping here fails the test
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) <= 1, (line, err)
    default_session().overrides.clear()


TOML_VALUES = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                        st.booleans(), st.text(max_size=12),
                        st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.sampled_from(["input", "x", "base_url"]),
                                        st.integers(-5, 5), max_size=2))
TOML_KEYS = st.sampled_from(["model", "max_tokens", "base_url", "timeout_s", "stream", "budget",
                             "profiles", "routes", "models", "aliases", "api_key_env", "max_token",
                             "view", "history_path"])


def toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).replace("inf", "inf")
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


@EXAMPLES
@given(entries=st.dictionaries(TOML_KEYS, TOML_VALUES, max_size=4),
       model_entry=st.dictionaries(st.sampled_from(["input", "output", "context_window",
                                                    "long_context", "inptu"]),
                                   TOML_VALUES, max_size=3))
def test_no_config_file_ever_produces_a_traceback(ip, simulator, capsys, isolated_dirs, entries,
                                                  model_entry) -> None:
    config = isolated_dirs / "config" / "opus_magic" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key} = {toml_value(value)}\n" for key, value in entries.items())
    text += '[models."m"]\n' + "".join(f"{k} = {toml_value(v)}\n" for k, v in model_entry.items())
    config.write_text(text, encoding="utf-8")
    for run in (lambda: ip.run_cell_magic("opus", "-m m --max-tokens 5", "hi"),
                lambda: ip.run_line_magic("opus", "config"),
                lambda: ip.run_line_magic("opus", "models")):
        run()                                        # any exception escaping here fails the test
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and len(err.strip().splitlines()) <= 1, (text, err)
