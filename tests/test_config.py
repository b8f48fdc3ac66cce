"""Settings declared once, a config file checked against its schema, and bad values refused in
one line that changes nothing: through `%opus config`, `%%opus`, the traits and the CLI."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import opus_magic
from opus_magic import config, setting_values
from opus_magic.cli.main import main
from opus_magic.config import SCALAR_KEYS, Settings, load_settings, settings_help
from opus_magic.core.session import default_session
from opus_magic.errors import ConfigError
from opus_magic.notebook.magics import OpusMagics


def config_file(isolated_dirs: Path, text: str) -> Path:
    path = isolated_dirs / "config" / "opus_magic" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_line(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_every_setting_is_derived_from_its_one_declaration() -> None:
    declared = [f.name for f in dataclasses.fields(Settings) if "help" in f.metadata]
    assert list(SCALAR_KEYS) == declared
    traits = OpusMagics.class_traits(config=True)
    for field in (f for f in dataclasses.fields(Settings) if f.name in declared):
        assert traits[field.name].help == field.metadata["help"]
        assert f"  {field.name} " in settings_help() and field.metadata["help"] in settings_help()
        assert all(f"${name}" in settings_help() for name in field.metadata["env"])
    assert "breaker_cooldown_s" in traits and "api_key_env" in traits


WRONG_TYPES = [
    ('[models."claude-opus-4-6"]\ninput = "$5"\n',
     ('models."claude-opus-4-6".input: expected a number of dollars per million tokens, 0 or more, '
      'got "$5"')),
    ('[models.mine]\ncontext_window = "128k"\n',
     'models.mine.context_window: expected a whole number of tokens above 0, got "128k"'),
    ('routes = "openai"\n', 'routes: expected a table of model = profile name, got "openai"'),
    ('aliases = 3\n', "aliases: expected a table of name = model id, got 3"),
    ('profiles = "x"\n', "profiles: expected a table of profiles"),
    ('models = [1]\n', "models: expected a table of models"),
    ('model = 5\n', "model: use a model id or alias, got 5"),
    ('base_url = 5\n', 'base_url: expected an http(s) URL, e.g. "http://127.0.0.1:11434/v1", got 5'),
    ('[profiles.p]\nbase_url = "http://x"\napi_key_env = 7\n',
     "profiles.p.api_key_env: expected the name of an environment variable"),
    ('timeout_s = [1]\n', "timeout_s: use seconds above 0 (at most a day), got [1]"),
    ('[models.free]\ninput = -0.5\noutput = 1\n', "models.free.input: expected a number of dollars"),
    ('max_token = 5\n', "max_token: unknown key (did you mean 'max_tokens'?)"),
    ('[profiles.p]\nbase_url = "http://x"\napi_key_evn = "K"\n',
     "profiles.p.api_key_evn: unknown key (did you mean 'api_key_env'?)"),
    ('[models.m]\ninptu = 1\n', "models.m.inptu: unknown key (did you mean 'input'?)"),
    ('[profiles.p]\napi_key_env = "K"\n', "profiles.p.base_url: missing"),
    ('base_url = "ftp://x"\n', 'base_url: expected an http(s) URL, e.g. "http://127.0.0.1:11434/v1", got "ftp://x"'),
]


@pytest.mark.parametrize("text, expected", WRONG_TYPES)
def test_a_wrongly_typed_config_file_is_one_message_naming_key_and_expectation(
        ip, simulator, isolated_dirs, capsys, text, expected) -> None:
    path = config_file(isolated_dirs, text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)
    ip.run_cell_magic("opus", "", "hi")
    assert expected in one_line(capsys.readouterr().err)
    ip.run_line_magic("opus", "models")
    assert expected in one_line(capsys.readouterr().err)
    ip.run_line_magic("opus", "config")
    out, err = capsys.readouterr()
    assert err == "" and "max_tokens" in out and str(path) in out and expected in out
    assert main(["endpoint"]) == 1
    assert expected in one_line(capsys.readouterr().err)
    assert simulator.requests() == []


def test_every_problem_of_a_file_is_in_the_one_message(isolated_dirs) -> None:
    config_file(isolated_dirs, 'model = 5\nmax_token = 3\n[models.x]\ninput = -1\noutput = "$5"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    for part in ("model: use a model id", "max_token: unknown key", "models.x.input", "models.x.output"):
        assert part in message
    assert "\n" not in message


def test_a_good_file_still_loads(isolated_dirs) -> None:
    config_file(isolated_dirs, 'model = "sonnet"\ntimeout_s = 5\n[models."llama3.1:8b"]\ninput = 0\n'
                               'output = 0\nas_of = 2026-11-01\n[models.x.long_context]\nthreshold = 10\n')
    settings = load_settings()
    assert settings.model == "sonnet" and settings.timeout_s == 5.0
    assert settings.models["llama3.1:8b"]["input"] == 0


@pytest.mark.parametrize("line, setting", [
    ("timeout_s= max_retries=", "timeout_s"), ("max_retries=", "max_retries"),
    ("stream=maybe", "stream"), ("budget=inf", "budget"), ("budget=1e999", "budget"),
    ("budget=nan", "budget"), ("timeout_s=inf", "timeout_s"), ("view=tv", "view"),
    ("base_url=notaurl", "base_url"), ("base_url=ftp://x", "base_url"),
    ("base_url=http://[::1", "base_url"), ("history_path=a\x00b", "history_path"),
])
def test_a_bad_value_is_refused_in_one_line_and_changes_nothing(ip, capsys, line, setting) -> None:
    before = default_session().settings()
    ip.run_line_magic("opus", f"config {line}")
    err = one_line(capsys.readouterr().err)
    assert f"'{setting}'" in err and "Nothing was changed" in err
    assert default_session().settings() == before


@pytest.mark.parametrize("line", ["inf", "1e999", "-1", "nan", "lots"])
def test_an_impossible_budget_is_refused_and_later_cells_still_run(ip, simulator, capsys,
                                                                   line) -> None:
    ip.run_line_magic("opus", f"budget {line}")
    assert "budget" in one_line(capsys.readouterr().err)
    ip.run_cell_magic("opus", "", "Still works?")
    assert opus_magic.last_run().status == "ok" and capsys.readouterr().err == ""


def test_a_stream_setting_means_what_it_says(ip, simulator) -> None:
    ip.run_line_magic("opus", "config stream=off")
    ip.run_cell_magic("opus", "", "hi")
    assert simulator.requests()[-1].stream is False
    ip.run_line_magic("opus", "config stream=yes")
    ip.run_cell_magic("opus", "", "hi")
    assert simulator.requests()[-1].stream is True


@pytest.mark.parametrize("flags, says", [
    ("-m ''", "-m needs a model"), ("-m ,,,", "-m needs a model"),
    ("--continue ''", "--continue takes a run id"), ("-o 1bad", "-o needs a Python variable name"),
    ("-o class", "-o needs a Python variable name"),
    ("-o get_ipython", "IPython itself uses"), ("-o __builtins__", "IPython itself uses"),
    ("-o In", "IPython itself uses"),
])
def test_bad_cell_flags_are_refused_in_one_line(ip, simulator, capsys, flags, says) -> None:
    ip.run_cell_magic("opus", flags, "hi")
    assert says in one_line(capsys.readouterr().err)
    assert simulator.requests() == []
    assert callable(ip.user_ns["get_ipython"]) and "__builtins__" in ip.user_ns


def test_apostrophes_in_values_just_work(ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "config system=You're terse and don't ramble")
    assert default_session().settings().system == "You're terse and don't ramble"
    ip.run_cell_magic("opus", "--tag don't -s \"It's fine\"", "hi")
    assert capsys.readouterr().err == ""
    assert opus_magic.last_run().tag == "don't"
    assert simulator.requests()[-1].messages[0]["content"].startswith("It's fine")
    ip.run_line_magic("opus", "history --search don't")
    ip.run_line_magic("opus", 'config system="unclosed')
    assert "quote is not closed" in one_line(capsys.readouterr().err)


def test_api_key_without_a_value_is_asked_for_hidden(ip, simulator, capsys, monkeypatch) -> None:
    secret = "sk-prompted-0123456789abcdefWXYZ"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": secret)
    ip.run_cell("%opus config api_key", store_history=True)
    out, err = capsys.readouterr()
    assert "…WXYZ" in out and secret not in out + err and err == ""
    assert default_session().settings().api_key.reveal() == secret
    assert not any(secret in line for line in ip.history_manager.input_hist_raw)
    ip.run_cell_magic("opus", "", "hi")
    assert opus_magic.last_run().status == "ok"


def test_api_key_env_names_the_variable_to_read(ip, simulator, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "sk-from-env-0123456789abcdefGHIJ")
    ip.run_line_magic("opus", "config api_key_env=MY_GATEWAY_TOKEN")
    assert "…GHIJ" in capsys.readouterr().out
    assert default_session().settings().api_key.reveal().endswith("GHIJ")
    ip.run_line_magic("opus", "config api_key_env=NOT_SET_ANYWHERE")
    assert "NOT_SET_ANYWHERE" in one_line(capsys.readouterr().err)


def test_api_key_with_a_value_warns_that_the_line_is_kept(ip, capsys) -> None:
    ip.run_line_magic("opus", "config api_key=sk-typed-0123456789abcdefQRST")
    out, err = capsys.readouterr()
    assert "…QRST" in out and "input history" in one_line(err) and "api_key_env" in err
    assert "0123456789abcdef" not in out + err


def test_a_key_prompt_that_cannot_be_answered_changes_nothing(ip, capsys, monkeypatch) -> None:
    def no_stdin(prompt: str = "") -> str:
        raise NotImplementedError("raw_input was called, but this frontend does not support it")

    before = default_session().settings().api_key
    monkeypatch.setattr("getpass.getpass", no_stdin)
    ip.run_line_magic("opus", "config api_key")
    assert "api_key_env" in one_line(capsys.readouterr().err)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "  ")
    ip.run_line_magic("opus", "config api_key")
    assert "No key was entered" in one_line(capsys.readouterr().err)
    assert default_session().settings().api_key == before


SAMPLES = ("sim", "http://127.0.0.1:8000/v1", "https://x", "ftp://x", "http://", "http://h:99999",
           "auto", "widget", "off", "concise", "openai", "5m", "WIDGET", "sk-0123456789abcdef",
           "claude-opus-4-6", "a\0b", "/tmp/history.sqlite", "12", "1.5", "true", "0", "007",
           "120000", "10000000", "10000001", "1000", "1001", "86400", "99999999999999999999",
           "-3", "+3", "1_000", " 5")


@pytest.mark.parametrize("key", SCALAR_KEYS)
def test_text_settings_are_checked_as_pydantic_checks_them(key: str) -> None:
    from pydantic import TypeAdapter, ValidationError

    kind = config.setting_types()[key]
    for value in SAMPLES:
        ours = setting_values.as_declared(kind, value)
        if ours is setting_values.UNSURE:
            continue
        try:
            theirs = TypeAdapter(kind).validate_python(value)
        except ValidationError:
            theirs = setting_values.REFUSED
        assert ours == theirs and type(ours) is type(theirs), (key, value)
