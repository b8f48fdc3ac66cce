"""Run lists as tables: text in a terminal, HTML in a notebook."""
from __future__ import annotations

import html

from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered, html_table

PROMPT_START = 48  # characters of the prompt in the text table (all of it in `%opus show`)


def prompt_start(run: RunRecord, chars: int = PROMPT_START) -> str:
    prompt = " ".join(run.prompt.split())
    return prompt if len(prompt) <= chars else prompt[:chars - 1] + "…"


def format_table(runs: list[RunRecord]) -> str:
    """The runs as an aligned text table: how each ended, its cost, comparison, tag and prompt."""
    if not runs:
        return "No runs recorded yet."
    rows = [["id", "created (UTC)", "model", "ended", "in", "out", "cost", "comparison", "tag",
             "prompt"]]
    rows += [[run.id, run.created_at[:19].replace("T", " "), fmt.model_label(run),
              fmt.end_state(run), f"{run.usage.input_tokens:,}", f"{run.usage.output_tokens:,}",
              fmt.run_cost(run), run.comparison_id or "", run.tag or "", prompt_start(run)]
             for run in runs]
    return fmt.text_table(rows, left={0, 1, 2, 3, 7, 8, 9})


def history_html(runs: list[RunRecord]) -> str:
    """The runs as an HTML table: how each ended in its colour, the prompt's start (all on hover)."""
    if not runs:
        return "<p>No runs recorded yet.</p>"
    rows = []
    for run in runs:
        prompt = " ".join(run.prompt.split())
        colour = fmt.STATUS_COLOURS.get(run.status, "inherit")
        rows.append([
            f"<code>{run.id}</code>", words(*run.created_at[:19].split("T")),
            words(*fmt.model_label(run).split(" ", 1)),
            f'<span style="color:{colour}">{html.escape(fmt.end_state(run))}</span>',
            tokens_html(run), html.escape(fmt.run_cost(run)), fmt.seconds(run.duration_s),
            html.escape(run.comparison_id or ""), html.escape(run.tag or ""),
            f'<span title="{html.escape(prompt[:2000])}">'
            f'{html.escape(prompt_start(run, 60))}</span>'])
    headers = ["id", "created (UTC)", "model", "ended", "tokens in → out", "cost", "time",
               "comparison", "tag", "prompt"]
    # fits an 848 px output: cells wrap between their parts (the time under its date, the model
    # above "(simulator)"), never inside an id, a date or a model's name; so the time,
    # comparison, tag and prompt stay in view (`%opus show` has TTFT and the rest)
    return html_table(headers, rows, numeric={4, 5, 6}, wraps=frozenset({1, 2, 3, 4, 8, 9}))


def words(*parts: str) -> str:
    """Parts that may go on lines of their own, none of them broken (at its hyphens either)."""
    return " ".join(f'<span style="white-space:nowrap">{html.escape(part)}</span>'
                    for part in parts)


def tokens_html(run: RunRecord) -> str:
    """`16 → 120`, and under it what was read from the prompt cache when something was."""
    usage = run.usage
    cached = (f"<br>{usage.cache_read_tokens:,} cached" if usage.cache_read_tokens else "")
    return (f'<span style="white-space:nowrap">{usage.input_tokens:,} → {usage.output_tokens:,}'
            f'</span>{cached}')


def history_view(runs: list[RunRecord]) -> Rendered:
    """`%opus history`: an HTML table in a notebook, the text table elsewhere."""
    return Rendered(history_html(runs), format_table(runs))
