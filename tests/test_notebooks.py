"""The teaching notebooks run top to bottom against the simulator, and say what they claim to.

Each notebook is copied to a temporary folder and executed there with nbclient, no API key and its
own history file; the assertions read the cells' outputs and the runs the kernel recorded.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opus_magic.core.history.select import select
from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord
from opus_magic.store.sqlite import Store

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ("01_quickstart", "02_ab_comparison", "03_billing_traps", "04_errors", "05_prompt_grid",
         "06_classroom", "07_documents", "08_tools_and_schemas")
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
CLEARED = ("OPUS_MAGIC_BASE_URL", "OPENAI_BASE_URL", "OPUS_MAGIC_API_KEY", "OPENAI_API_KEY",
           "OPUS_MAGIC_MODEL", "OPUS_MAGIC_CONFIG", "OPUS_MAGIC_ADMIN_KEY")
SECRET = "sk-ant-api03-notebook-secret-4f9c2e71"
USD = r"\$([0-9.]+)"


@dataclass
class Executed:
    """An executed copy of a notebook and the runs its kernel recorded (newest first)."""

    notebook: Any
    runs: list[RunRecord]
    folder: Path

    def cell(self, marker: str) -> Any:
        """The first code cell whose source contains `marker`."""
        return next(c for c in self.notebook.cells if c.cell_type == "code" and marker in c.source)

    def text(self, marker: str) -> str:
        """Everything the cell printed or displayed, as plain text (stderr included)."""
        parts = []
        for output in self.cell(marker).outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
            else:
                parts.append(output.get("data", {}).get("text/plain", ""))
        return "".join(parts)

    def mimes(self, marker: str) -> set[str]:
        return {m for o in self.cell(marker).outputs for m in o.get("data", {})}

    def tagged(self, tag: str) -> list[RunRecord]:
        return [run for run in self.runs if run.tag == tag]


def execute(name: str, folder: Path, extra_env: dict[str, str] | None = None) -> Executed:
    """Execute a copy of notebooks/NAME.ipynb in `folder` with its own history and no key."""
    folder.mkdir(parents=True)
    copy = folder / f"{name}.ipynb"
    shutil.copyfile(NOTEBOOKS / f"{name}.ipynb", copy)
    shutil.copytree(NOTEBOOKS / "data", folder / "data")  # datasets the notebooks read
    history = folder / "history.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(OPUS_MAGIC_HISTORY=str(history), XDG_CONFIG_HOME=str(folder / "config"),
               XDG_DATA_HOME=str(folder / "data"), **(extra_env or {}))
    notebook = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    nbformat.write(notebook, copy)
    store = Store(history)
    try:
        runs = select(store, limit=None)
    finally:
        store.close()
    return Executed(notebook, runs, folder)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Executed]]:
    """Each notebook executed once for the module, on first use."""
    done: dict[str, Executed] = {}

    def get(name: str) -> Executed:
        if name not in done:
            done[name] = execute(name, tmp_path_factory.mktemp("nb") / name)
        return done[name]

    yield get


def amounts(text: str) -> list[Decimal]:
    return [Decimal(a) for a in re.findall(USD, text)]


def no_tracebacks(run: Executed) -> None:
    for cell in run.notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            assert "Traceback" not in json.dumps(output)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_clean(name: str) -> None:
    """No outputs, widget state or secrets in git; one config line sets the endpoint."""
    raw = (NOTEBOOKS / f"{name}.ipynb").read_text()
    notebook = nbformat.reads(raw, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "widgets" not in notebook.metadata
    assert not re.search(r"sk-[A-Za-z0-9-]{12,}", raw)
    config_lines = [line for c in code for line in c.source.splitlines()
                    if line.startswith("%opus config base_url=")]
    assert len(config_lines) == 1


def test_quickstart(executed: Callable[[str], Executed]) -> None:
    run = executed("01_quickstart")
    no_tracebacks(run)
    config = run.text("%opus config base_url=sim")
    assert re.search(r"base_url\s+sim\n", config) and re.search(r"api_key\s+\(not set\)", config)
    first, concise = sorted(run.tagged("quickstart"), key=lambda r: r.created_at)
    assert first.response_model == "claude-opus-5-5"     # no key: the Messages API answers
    assert (first.status, first.finish_reason) == ("ok", "end_turn")
    assert first.api == "anthropic" and first.input_exact
    assert first.simulator and first.cost_exact and first.max_tokens == 300
    shown = run.text("%%opus -m opus --max-tokens 300")
    assert VIEW_MIME in run.mimes("%%opus -m opus --max-tokens 300")  # the live view was displayed
    assert "claude-opus-5-5 (simulator)" in shown and f"run {first.id}" in shown
    assert "legacy" not in shown
    assert first.text.splitlines()[-1] in shown
    # -o, interpolation and concise mode, as the record cell reports them
    assert "What is SQLite's WAL mode" in concise.prompt and concise.concise == "concise"
    report = run.text("run = opus_magic.last_run()")
    assert f"`answer` holds {len(concise.text.split())} words" in report
    assert f"cost ${concise.cost} (exact)" in report and "'Be concise" in report
    models = run.text("%opus models")
    assert models.startswith("Current models: claude-fable-5-2") and "source (as of)" in models
    assert "opus → claude-opus-5-5" in models
    listed = run.text("%opus history --tag quickstart")
    assert first.id in listed and concise.id in listed
    assert "--- system" in run.text("%opus show") and concise.id in run.text("%opus show")
    total = first.cost + concise.cost
    summary = run.text("runs = opus_magic.history")
    assert f"2 quickstart runs in history, ${total} in total" in summary


def test_ab_comparison(executed: Callable[[str], Executed]) -> None:
    run = executed("02_ab_comparison")
    no_tracebacks(run)
    trio = run.tagged("ab-models")
    models = {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"}
    assert {r.response_model for r in trio} == models
    assert len({r.comparison_id for r in trio}) == 1 and trio[0].comparison_id
    side_by_side = run.text("%%opus -m opus,sonnet,haiku")
    assert "cheapest" in side_by_side and VIEW_MIME in run.mimes("%%opus -m opus,sonnet,haiku")
    by_model = {r.response_model: r for r in trio}
    ratio = by_model["claude-opus-5-5"].cost / by_model["claude-haiku-5-5"].cost
    assert f"costs {ratio:.1f}× more on Opus than on Haiku" in run.text("by_model = {")
    assert all(r.id in run.text("%opus compare {comparison}") for r in trio)
    plain, bullets = run.tagged("variant-plain"), run.tagged("variant-bullets")
    assert len(plain) == len(bullets) == 4  # one by the magic, three by opus_magic.run
    diff = run.text("%opus compare {plain.id} {bullets.id}")
    same = re.search(r"(\d+)% of words as in the first", diff)
    assert same  # a word diff when the answers are close, else both whole (the diff is noise)
    if int(same[1]) >= 50:
        assert "[-" in diff and "{+" in diff
    else:
        assert "too different for a word diff" in diff and any(r.text in diff for r in bullets)
    by_tag = run.text("%opus stats --by tag")
    assert re.search(r"variant-plain\s+4\s", by_tag) and re.search(r"all runs\s+11\s", by_tag)
    assert "<svg" in run.cell("%opus stats --by model").outputs[0]["data"]["text/html"]
    tokens = sum(r.usage.output_tokens for r in bullets) / sum(r.usage.output_tokens for r in plain)
    cost = sum(r.cost for r in bullets) / sum(r.cost for r in plain)
    assert (f"used {tokens:.0%} of the plain variant's output tokens on average, "
            f"and cost {cost:.0%}" in run.text("plain_tokens ="))


def test_billing_traps(executed: Callable[[str], Executed]) -> None:
    run = executed("03_billing_traps")
    no_tracebacks(run)
    assert "One output token costs as much as 5 input tokens." in run.text("p = opus.prices")
    [ratio] = run.tagged("traps-ratio")
    # Opus 4.6's figures, named as such: each run on it says once that it is legacy
    shown = run.text("--max-tokens 800 --tag traps-ratio")
    assert shown.count("claude-opus-4-6 (legacy: Opus 5.5 is current, 20 % cheaper)") == 1
    assert ratio.legacy == "legacy: Opus 5.5 is current, 20 % cheaper"
    share = run.text("paid_in, paid_out")
    assert f"{ratio.usage.output_tokens} output tokens cost" in share
    assert int(re.search(r"The answer is (\d+)%", share)[1]) > 90
    [verbose], [concise] = run.tagged("traps-verbose"), run.tagged("traps-concise")
    assert concise.usage.output_tokens < verbose.usage.output_tokens and concise.cost < verbose.cost
    share = f"the concise run cost {concise.cost / verbose.cost:.0%} of the verbose one"
    assert share in run.text("verbose, concise =")
    dry = run.text("--max-tokens 8000 --dry-run")
    assert "nothing was sent" in dry.lower() and len(re.findall(r"claude-\w+-4-\d\s", dry)) == 3
    [ceiling] = run.tagged("traps-ceiling")
    assert ceiling.max_tokens == 8000 and ceiling.usage.output_tokens < 1000
    assert re.search(r"the hold was \d+× the real cost", run.text("hold = usage_cost"))
    assert "128,000" in run.text("--max-tokens 500000 --dry-run")
    # caching: below Opus's minimum nothing is cached; above it one write, then reads
    short, long, sonnet = (sorted(run.tagged(t), key=lambda r: r.created_at)
                           for t in ("traps-cache-short", "traps-cache-long", "traps-cache-sonnet"))
    assert len(short) == len(long) == len(sonnet) == 6
    assert all(r.usage.cache_read_tokens == r.usage.cache_write_tokens == 0 for r in short)
    for runs in (long, sonnet):
        assert runs[0].usage.cache_write_tokens > 0 and runs[0].usage.cache_read_tokens == 0
        assert all(r.usage.cache_read_tokens > 0 for r in runs[1:])
        assert sum(r.cost for r in runs) < sum(r.cost for r in short) * 3
    assert re.search(r"traps-cache-long\s+6\s.*\d+\.\d%", run.text("%opus stats --by tag --since"))
    saved = [int(s) for s in re.findall(r"(-?\d+)% saved", run.text("def conversation("))]
    assert saved[0] == 0 and 0 < saved[1] < saved[2]
    # tool definitions: ten of them and the 497-token tool-use system prompt cost about 1.2 cents
    # a call on Opus 4.6
    overhead = run.text("--tools support_tools --dry-run")
    assert re.search(r"Tools: 10 tools × ≈?\d+ tokens = [\d,]+ tokens \+ 497 tokens of tool-use "
                     r"system prompt = [\d,]+ tokens", overhead)
    [per_call] = amounts(run.text("overhead = tokens.count_tools")[:60])
    assert Decimal("0.011") <= per_call <= Decimal("0.013")
    # the estimate while streaming, the server's usage at the end, and calibration
    estimated = run.tagged("traps-estimate")
    scaled = next(r for r in estimated if r.model == "claude-opus-4-5" and r.max_tokens == 400)
    assert scaled.usage.output_tokens == round(scaled.tiktoken_output * 1.2)
    assert f"said {scaled.usage.output_tokens}" in run.text("counted = r.tiktoken_output")
    calibrated = re.search(r"calibrated from 3 runs: ×(\d\.\d+)",
                           run.text("-m claude-opus-4-5 --max-tokens 400 --dry-run"))
    assert calibrated and abs(float(calibrated[1]) - 1.2) < 0.01
    no_usage = estimated[0]
    assert not no_usage.cost_exact and no_usage.cost_source == "estimate"
    # the budget refuses the worst case before sending, then lets a smaller run through
    refused = run.text("--max-tokens 128000 --tag traps-budget")
    assert "Over the session budget" in refused and "Nothing was sent" in refused
    [allowed] = run.tagged("traps-budget")
    assert allowed.max_tokens == 2000 and allowed.status == "ok"


def test_billing_traps_on_claudes_native_api(executed: Callable[[str], Executed]) -> None:
    run = executed("03_billing_traps")
    write, read = sorted(run.tagged("native-5m"), key=lambda r: r.created_at)
    assert write.api == "anthropic" and write.cache_breakpoints == ["system"]
    assert write.usage.cache_write_5m_tokens > 4096 and write.usage.cache_read_tokens == 0
    assert read.usage.cache_read_tokens == write.usage.cache_write_5m_tokens
    # §8 promises the pre-flight line: what the write costs above plain input, when it pays off
    preflight = run.text("--tag native-5m")
    assert "Caching: system marked (" in preflight and "pays off from the 2nd call" in preflight
    shown = run.text('write, read = sorted(opus_magic.history(tag="native-5m")')
    written = Decimal(write.usage.cache_write_5m_tokens)
    assert f"call 1 wrote {written:,} tokens at $6.25/M = ${written * Decimal('6.25') / 10**6:.4g}" in shown
    assert f"the read made call 2 {1 - read.cost / write.cost:.0%} cheaper" in shown
    [hour] = run.tagged("native-1h")
    assert hour.usage.cache_write_1h_tokens == hour.usage.cache_write_tokens > 4096
    five, one = amounts(run.text("def every_ten_minutes").splitlines()[1])
    assert one < five                                       # calls more than 5 minutes apart
    [thinking] = run.tagged("native-thinking")
    u = thinking.usage
    assert u.thinking_tokens and u.thinking_tokens < u.output_tokens
    assert f"of {u.output_tokens:,} output tokens, {u.thinking_tokens:,} were thinking" in run.text(
        "u = r.usage")
    meter = run.text("class FirstToken")
    assert "(exact: True), output ≈$" in meter and "(exact: False)" in meter
    then, end = (re.search(r"input \$([0-9.]+)", line)[1] for line in meter.splitlines()[:2])
    assert then == end


def test_errors(executed: Callable[[str], Executed]) -> None:
    run = executed("04_errors")
    no_tracebacks(run)
    runs = sorted((r for r in run.runs if r.tag != "breaker"), key=lambda r: r.created_at)
    statuses = [(r.status, r.finish_reason) for r in runs]
    assert statuses == [("error", None), ("error", None), ("error", None), ("ok", "stop"),
                        ("error", None), ("ok", "stop"), ("interrupted", None), ("ok", "length"),
                        ("ok", "content_filter")]
    unauthorized, balance, hold, _, quota, _, cut, length, _ = runs
    assert "HTTP 401" in run.text("Say hello.") and unauthorized.error.startswith("HTTP 401")
    assert "hold of $" in balance.error
    assert re.search(r"--max-tokens \d+", hold.error)
    assert hold.error in run.text("Write a long story.")
    retried = run.text("run = opus_magic.last_run()")
    assert "requests the simulator saw for this answer: 3" in retried
    assert "retrying cannot help" in quota.error
    # 12 tokens arrived, as tiktoken counts them: estimated at × 1.3 for Opus 5.5's own tokenizer
    assert cut.text and cut.usage.output_tokens == round(12 * 1.3) and not cut.cost_exact
    assert "partial answer is kept" in cut.error
    assert length.usage.output_tokens == 25 and "Cut at 25 tokens" in run.text("--max-tokens 25")
    breaker = run.text('lab.scenario("500", times=2)')
    assert breaker.count("HTTP 500: The endpoint failed") == 2 and "attempt 3: error:" in breaker
    assert "Nothing more is sent before then" in breaker.splitlines()[-1]
    assert "after the cool-down: ok" in run.text("time.sleep(2)")
    assert all(r.id in run.text("%opus history -n 20") for r in runs)


def test_prompt_grid(executed: Callable[[str], Executed]) -> None:
    run = executed("05_prompt_grid")
    no_tracebacks(run)
    dry = run.text("--dry-run")
    assert "120 cells (2 variants × 2 models × 30 rows); nothing was sent" in dry
    triage = run.tagged("triage")
    assert len(triage) == 120 and len({r.grid_id for r in triage}) == 1
    assert all(r.status == "ok" and r.checks is not None for r in triage)
    body = [r for r in triage if r.variant == "with body"]
    rate = sum(bool(r.checks["equals:label"]) for r in body) / len(body)
    assert rate > 0.9 > sum(bool(r.checks["equals:label"]) for r in triage if r not in body) / 60
    verdict = run.text("summary = opus_magic.summary()")
    assert "No detectable difference on 30 rows" in verdict  # opus and haiku: the same answers
    assert re.search(r"with body/haiku vs subject only/haiku: (\d+) rows passed only by the "
                     r"first, \d+ only by the second, p = \S+, adjusted \S+; \+\d+ points", verdict)
    assert "pass_rate_low" in verdict and "Holm-corrected over 6 pairs" in verdict
    pairs = run.text("pairs = pd.DataFrame")
    assert pairs.count("True") == 4 and pairs.count("False") == 2  # body against no body only
    sampled = run.text("--sample 20 --seed 7")
    assert "Sample: 20 of 30,000 rows drawn at random (seed 7" in sampled
    assert re.search(r"30,000 rows: \$[\d.]+ \([\d.]+–[\d.]+\) interactive, \$[\d.]+ "
                     r"\([\d.]+–[\d.]+\) batch \(50 % off\), ≈ ", sampled)
    assert "Reused 80 cells, $0.00; ran 0" in sampled and "Over budget" in sampled
    refused = run.text("--each queue --variants prompts -m opus,haiku --max-tokens 5 "
                       "--check equals:label --check is_a_label\n")
    assert "Not sent: the full grid is projected at" in refused and "Traceback" not in refused
    assert len(run.runs) < 1000  # the full queue's 120,000 cells were not sent
    grid = run.cell("--tag triage -o results")
    readable = [o["data"] for o in grid.outputs if "text/markdown" in o.get("data", {})]
    assert readable and "pass rate" in readable[-1]["text/plain"]
    assert "best" in readable[-1]["text/markdown"]
    again = run.text("Requests sent by the re-run")
    assert "Requests sent by the re-run: 0; it cost $0; 120 cells reused." in again
    paced = run.text("refused = sum(")
    found = re.search(r"24 of 24 cells answered in ([\d.]+) s .*; (\d+) requests refused", paced)
    assert found and int(found[2]) <= 2 and "of 6 requests left" in paced
    assert "pass rate" in run.text("%opus grid") and "triage" in run.text("%opus compare --tag")
    batched = run.tagged("triage-batch")
    assert len(batched) == 120 and len({r.grid_id for r in batched}) == 1
    assert all(r.batch_id and r.cost_exact and r.cost_source == "batch price" for r in batched)
    assert all(r.checks is not None and "is_a_label" in r.checks for r in batched)
    live_cost, batch_cost = (sum(r.cost for r in runs) for runs in (triage, batched))
    assert batch_cost * 2 == live_cost
    shown = run.text("--tag triage-batch --fresh --batch")
    assert "at the batch price" in shown and "120 succeeded" in shown and "pass rate" in shown
    halved = run.text("batch = sum(batched")
    assert amounts(halved) == [live_cost, batch_cost] and "(50% of it)" in halved
    assert "the same answers: True" in halved
    assert "collected" in run.text("%opus batches")
    assert "triage-batch" in run.text("--tag triage --tag triage-batch")


def test_prompt_grid_cascade(executed: Callable[[str], Executed]) -> None:
    run = executed("05_prompt_grid")
    attempts = run.tagged("cascade")
    stages = {r.stage for r in attempts}
    assert {1, 2, 3} <= stages | {None} and None in stages  # every stage, and opus alone
    first = [r for r in attempts if r.stage == 1]
    alone = [r for r in attempts if "opus" in r.model]
    assert len(first) == 30 and len(alone) == 30 and len({r.grid_id for r in attempts}) == 1
    wrong = {r.row for r in first if not r.checks["equals:label"]}
    assert {r.row for r in attempts if r.stage == 2} == wrong and 5 < len(wrong) < 20
    shown = run.text("--cascade haiku,sonnet,opus")
    assert "Settled at each stage: haiku " in shown and "haiku ✗ → sonnet ✓" in shown
    assert "opus alone" in shown and "cost per correct" in shown
    summary = run.text('print(routed.attrs["summary"])')
    assert re.search(r"The cascade saves \d+ % \(\d+–\d+ %\) at a pass rate", summary)
    spent = sum(r.cost for r in attempts if r.stage is not None)
    assert format_usd(spent) in shown


def test_documents(executed: Callable[[str], Executed]) -> None:
    run = executed("07_documents")
    no_tracebacks(run)
    assert "manual.pdf: 80 pages" in run.text("manual = Path")
    plain, cached = run.tagged("docs-plain"), run.tagged("docs-cached")
    assert len(plain) == len(cached) == 5 and len(run.runs) == 11  # the 640 pages sent nothing
    [manual] = {(a.name, a.pages, a.tokens) for r in plain + cached for a in r.attachments}
    assert manual[:2] == ("manual.pdf", 80)
    priced = run.text("%%opus -m opus --dry-run --attach manual.pdf")
    assert (f"Attachment manual.pdf (80 pages): {manual[2]:,} tokens, exact (count_tokens)"
            in priced)
    assert "pays from the 3rd question asked within 1 hour" in priced
    assert all(not r.usage.cache_write_tokens and not r.usage.cache_read_tokens for r in plain)
    first, *later = sorted(cached, key=lambda r: r.created_at)
    assert first.usage.cache_write_1h_tokens > manual[2] and first.cache_breakpoints == ["attachments"]
    assert all(r.usage.cache_read_tokens == first.usage.cache_write_tokens for r in later)
    assert "attached: 📄 manual.pdf · 80 pages" in run.text("--cache 1h --max-tokens 200")
    totals = run.text("pays = next(")
    assert (f"{format_usd(sum(r.cost for r in plain))} without caching, "
            f"{format_usd(sum(r.cost for r in cached))} with the manual cached" in totals)
    assert "caching pays from question 3" in totals
    sizes = run.text("--dry-run --attach small --attach large")
    assert "small.png (400×300 px): 165 tokens" in sizes and "downscaled from 3200×2400" in sizes
    [image] = run.tagged("docs-image")
    assert image.attachments[0].tokens == 165 and image.attachments[0].pixels == (400, 300)
    assert "640 PDF pages, over the 600-page cap" in run.text("--attach manual.pdf --attach manual.pdf")
    assert "over the 1,000,000-token window" in run.text("per_page = ")
    assert "attachment: manual.pdf · application/pdf" in run.text("%opus show")


def test_tools_and_schemas(executed: Callable[[str], Executed]) -> None:
    run = executed("08_tools_and_schemas")
    no_tracebacks(run)
    loop = sorted(run.tagged("loop"), key=lambda r: r.step or 0)
    assert [r.step for r in loop] == [1, 2, 3] and len({r.chain_id for r in loop}) == 1
    inputs = [r.usage.input_tokens for r in loop]
    assert inputs == sorted(set(inputs))  # every step sends the conversation so far again
    assert [r.tool_results[0]["status"] for r in loop[:2]] == ["ok", "ok"]
    tools = loop[0].tool_tokens
    assert tools > 286 and all(r.tool_tokens == tools and r.input_exact for r in loop)
    total = sum(r.cost for r in loop)
    overhead = Decimal(3 * tools * 4) / 10**6  # Opus 5.5: $4 per million input tokens
    shown = run.text("--tag loop -o answer")
    assert VIEW_MIME in run.mimes("--tag loop -o answer")
    assert f"3 model calls, 2 tool calls · {sum(inputs):,} in" in shown
    assert (f"tools overhead: 3 × {tools:,} tokens, {format_usd(overhead, estimated=True)}, "
            f"{overhead / total:.0%}".replace("%", " %")) in shown
    bill = run.text("chain_id = opus_magic.last_run().chain_id")
    assert f"The loop cost {format_usd(total)}" in bill and loop[2].text in bill
    assert "worst case" in run.text("--dry-run")
    two, ten = run.tagged("two-tools"), run.tagged("ten-tools")
    assert len(two) == len(ten) == 2 and ten[0].tool_tokens > two[0].tool_tokens
    assert sum(r.cost for r in ten) > sum(r.cost for r in two)
    assert {r.text for r in ten} == {r.text for r in two}  # the same answer, dearer
    assert "Ticket(category='billing', urgency=2)" in run.text("print(repr(ticket))")
    broken = run.text("print(type(broken).__name__, broken)")
    assert broken.startswith("str ") and "does not match schema Ticket" in broken
    grid = run.tagged("extract")
    assert len(grid) == 30 and all(r.schema == "Ticket" and r.parsed for r in grid)
    table = run.text("columns = [")
    assert "answer.category" in table and "of the 30 categories right" in table
    [search] = run.tagged("search")
    assert search.usage.web_search_requests == 1
    assert "+ $0.0100 of fees" in run.text("tokens_only = ")


def test_headless_execute_prints_runs_and_leaves_the_notebook_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opus_magic.cli.main import main

    copy = tmp_path / "01_quickstart.ipynb"
    shutil.copyfile(NOTEBOOKS / copy.name, copy)
    assert main(["execute", str(copy)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"2 runs, total \$[\d.]+, all answered by the built-in simulator", printed)
    assert "Explain prompt caching" in printed and "haiku" in printed
    assert copy.read_bytes() == (NOTEBOOKS / copy.name).read_bytes()
    broken = tmp_path / "broken.ipynb"
    failing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    broken.write_text(json.dumps(failing))
    assert main(["execute", str(broken)]) == 1
    assert "a cell failed with ZeroDivisionError: division by zero" in capsys.readouterr().err


def test_a_key_never_reaches_outputs_or_history(tmp_path: Path) -> None:
    """The errors notebook with a real-looking key in the environment: it is used, never shown."""
    run = execute("04_errors", tmp_path / "keyed", {"OPUS_MAGIC_API_KEY": SECRET})
    no_tracebacks(run)
    assert SECRET not in json.dumps(run.notebook)
    assert SECRET[-4:] in run.text("%opus config base_url=")  # shown masked: sk-…2e71
    history = (run.folder / "history.sqlite").read_bytes()
    assert SECRET.encode() not in history
    assert "HTTP 401" in run.runs[-1].error


def test_classroom_on_a_shared_postgresql_history(pg_url: str, tmp_path: Path) -> None:
    from opus_magic.store.postgres import PgStore

    run = execute("06_classroom", tmp_path / "classroom",
                  {"OPUS_MAGIC_HISTORY_URL": pg_url.replace("opus@", "opus:pw-not-shown@")})
    no_tracebacks(run)
    assert not run.runs                                     # nothing went to a local file
    everything = select(PgStore(pg_url), limit=None)
    runs = [r for r in everything if r.grid_id is None]     # the exercise, not the prompt grid
    assert len(runs) == 12 and {r.user for r in runs} == {"ana", "ben", "chloe", "dev"}
    assert all(r.project == "week3" and r.simulator for r in runs)
    assert "pw-not-shown" not in json.dumps(run.notebook)
    listing = next(c for c in run.notebook.cells if c.source.strip() == "%opus config")
    assert f"history_url          {pg_url}" in listing.outputs[0].text
    by_user = run.text("%opus stats --by user")
    cli = run.text("opus_magic.cli.main stats --by user")
    for student in ("ana", "ben", "chloe", "dev"):
        spent = sum((r.cost for r in runs if r.user == student), Decimal(0))
        assert re.search(rf"{student}\s+3\s+\$", by_user) and student in cli
        assert re.search(rf"{student} .*{spent}", run.text("groupby([\"user\", \"response_model\"])"))
    assert by_user.splitlines()[2].split()[0] == cli.splitlines()[2].split()[0]  # same order
    hits = run.text("cache hit rate")
    for student in ("ana", "ben", "chloe", "dev"):             # everyone reused the course notes
        assert re.search(rf"{student} .* [1-9][0-9]*%", hits), hits
    costly = run.text("sort_values(\"cost\"").splitlines()
    costs = [Decimal(line.split()[0].lstrip("$")) for line in costly]
    assert len(costs) == 5 and costs == sorted(costs, reverse=True)
    assert costs[0] == max(r.cost for r in runs)
    reconciled = run.text("%opus reconcile").splitlines()
    for model in ("claude-opus-5-5", "claude-sonnet-5-5"):              # the class's own runs
        assert next(line for line in reconciled if line.startswith(model)).endswith("matches")
    haiku = next(line for line in reconciled if line.startswith("claude-haiku-5-5"))
    script = Decimal(2000) * Decimal("0.10") / 10**6 + Decimal(400) * Decimal("0.50") / 10**6
    assert f"+{format_usd(script)}" in haiku and haiku.endswith("runs outside this history")
    total = next(line for line in reconciled if line.startswith("total"))
    spent = sum((r.cost for r in runs), Decimal(0))
    assert format_usd(spent) in total and format_usd(spent + script) in total
    assert any(re.match(r"  user ana .* 3 runs$", line) for line in reconciled)
    graded = [r for r in everything if r.tag == "week3-prompts"]
    assert len(graded) == 120 and {r.variant for r in graded} == {"ana", "ben", "chloe", "dev"}
    ranking = run.text("ranked = summary.sort_values").splitlines()
    places = [re.match(r"(\d)\. (\w+) +(\d+)% \((\d+)%–(\d+)%\) (\d+)/30 right", line)
              for line in ranking[:4]]
    assert all(places) and [int(p[1]) for p in places] == [1, 2, 3, 4]
    rates = [int(p[3]) for p in places]
    assert rates == sorted(rates, reverse=True)
    assert all(int(p[4]) <= int(p[3]) <= int(p[5]) for p in places)   # each inside its interval
    assert {p[2] for p in places[:2]} == {"ben", "chloe"}, ranking     # the body wins
    assert "No detectable difference on 30 rows" in ranking[5]         # but not between them
