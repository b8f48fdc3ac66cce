"""The simulator's answers read like answers: written ones for the documented prompts, shaped ones
built from the prompt's own words for any other, with token counts exactly as before."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import opus_magic
from opus_magic.cost.tokens import count_text
from opus_magic.sim.content.answers import _table, written_pieces, written_text
from opus_magic.sim.content.text import (
    BULLETS,
    OPENINGS,
    SENTENCES,
    STARTERS,
    WORDS,
    answer_chunks,
)

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o")
FILLED = {"n_sentences": "3", "topic": "SQLite's WAL mode"}  # the values the README/notebooks set


def documented_prompts() -> set[str]:
    """Every prompt a `%%opus` cell of the README or a notebook sends (dry runs send nothing;
    grid cells, `--each`, send one prompt per row, answered by the option they ask for; a cell
    with `--tools` or `--schema` is answered by tool calls and their results, or JSON)."""
    cells = [c for c in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)]
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells += ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                  if c["cell_type"] == "code"]
    prompts = set()
    for cell in cells:
        first = cell.splitlines()[0] if cell else ""
        sends_prose = not any(flag in first for flag in ("--dry-run", "--each", "--tools",
                                                          "--schema"))
        if cell.startswith("%%opus") and sends_prose:
            prompt = cell.split("\n", 1)[1].strip()
            prompts.add(re.sub(r"\{(\w+)\}", lambda m: FILLED[m[1]], prompt))
    return prompts


def test_every_documented_prompt_has_a_written_answer() -> None:
    prompts = documented_prompts()
    assert len(prompts) >= 12
    assert [p for p in prompts if written_text(p, "claude-opus-4-6") is None] == []


@pytest.mark.parametrize("model", MODELS)
def test_written_answers_cut_into_exactly_one_token_per_piece(model: str) -> None:
    for entry in _table().values():
        pieces = written_pieces(entry["prompt"], model)
        assert "".join(pieces) == written_text(entry["prompt"], model)
        assert [k for k in range(1, len(pieces) + 1)
                if count_text("".join(pieces[:k]), model) != k] == []


def test_opus_writes_longer_and_haiku_shorter() -> None:
    sizes = {m: sum(len(written_pieces(e["prompt"], m)) for e in _table().values()) for m in MODELS}
    assert 1.3 <= sizes["claude-opus-4-6"] / sizes["claude-sonnet-4-5"] <= 1.6
    assert sizes["claude-haiku-4-5"] < sizes["claude-sonnet-4-5"] / 2
    bloom = [{"role": "user", "content": "Name  three uses of a Bloom filter."}]
    opus, haiku = ("".join(answer_chunks(bloom, model=m)) for m in MODELS[::2])
    assert opus.startswith("1. **Skipping needless disk reads**") and "ten bits per item" in opus
    assert haiku.startswith("1. Avoiding disk reads") and len(haiku) < len(opus) / 3


@pytest.mark.parametrize("length", [1, 25, 180, 900])
def test_max_tokens_and_set_lengths_still_count_exactly(length: int) -> None:
    messages = [{"role": "user", "content": "Explain how TCP retransmission works."}]
    for model in MODELS:
        chunks = answer_chunks(messages, length, model)
        assert len(chunks) == length and count_text("".join(chunks), model) == length
        written = written_pieces(messages[0]["content"], model)
        assert "".join(chunks).startswith("".join(written[:min(length, len(written)) - 1]))


def test_concise_answers_are_the_start_of_the_written_one_ending_on_a_sentence() -> None:
    messages = [{"role": "system", "content": "Be concise."},
                {"role": "user", "content": "Explain how HTTPS protects a login form."}]
    full = written_text(messages[1]["content"], "claude-opus-4-6")
    short = "".join(answer_chunks(messages, model="claude-opus-4-6"))
    assert full.startswith(short) and short.endswith(".") and len(short) < len(full) / 2


def test_other_prompts_are_built_from_their_own_words() -> None:
    question = [{"role": "user", "content": "Why do vector databases need approximate search?"}]
    text = "".join(answer_chunks(question, model="gpt-4o"))
    assert re.search(r"^(Here|In|The|This|Your) .*about vector, databases and need\.$", text,
                     re.M)
    assert "\n- vector:" in text and text.endswith(".")
    assert text == "".join(answer_chunks(question, model="gpt-4o"))
    code = "".join(answer_chunks([{"role": "user", "content": "Write a Python function to add "
                                   "numbers."}], model="claude-sonnet-4-5"))
    assert "\n\n```python\ndef " in code and "python" in code.split("\n\n")[0 if
                                                                             code[0] != "#" else 1]


def test_sentence_shapes_use_only_one_token_words() -> None:
    shapes = [s.split(" ") for s in SENTENCES + OPENINGS]
    assert all(shape[0] in STARTERS for shape in shapes)
    words = [w for shape in shapes for w in shape[1:]] + [w for b in BULLETS for w in b.split()]
    assert [w for w in words if w not in WORDS and w not in ("{}", ",")] == []


def test_the_magic_shows_the_written_answer_with_exact_usage(ip, simulator) -> None:
    ip.run_cell_magic("opus", "-m haiku --max-tokens 300", "Say hello.")
    run = opus_magic.last_run()
    assert run.text == "Hello!" and run.finish_reason == "stop"
    assert run.usage.output_tokens == 2 and run.cost_exact
    ip.run_cell_magic("opus", "-m opus --max-tokens 10", "Explain how TCP retransmission works.")
    run = opus_magic.last_run()
    assert run.finish_reason == "length" and run.usage.output_tokens == 10
    assert run.text.startswith("TCP numbers every byte")
