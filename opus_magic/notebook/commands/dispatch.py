"""What `%opus` subcommands and a `%%opus` cell do, given parsed input."""
from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

from opus_magic.config import KEYS, SCALAR_KEYS, listing, settings_help
from opus_magic.core.history import chains, grids, select, totals
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.commands.batches import cmd_batches
from opus_magic.notebook.commands.grid import cmd_grid
from opus_magic.notebook.commands.options import add_filter_options, filter_values
from opus_magic.notebook.commands.reconcile import cmd_reconcile
from opus_magic.notebook.commands.sim import cmd_sim
from opus_magic.notebook.lines import report, split_words
from opus_magic.view.commands import compare, stats
from opus_magic.view.commands.catalog import models_table
from opus_magic.view.commands.history import history_view
from opus_magic.view.commands.settings import changes_text
from opus_magic.view.commands.show import show_text
from opus_magic.view.grid import history as grid_history
from opus_magic.view.run.chain_text import show_lines
from opus_magic.view.tables import plain, show

HELP = """%%opus [-m MODEL[,MODEL...]] [--max-tokens N] [-t TEMP] [-s SYSTEM] [--concise | --code-only]
       [--no-stream] [-o VAR] [--tag TAG] [--dry-run] [--no-interpolate] [--profile NAME]
       [--tools NAME[,NAME...]] [--continue [RUN_ID|MODEL]] [--cache auto|5m|1h|off]
       [--thinking [N]] [--effort low|medium|high|max] [--attach FILE|URL|VAR ...] [--upload]
       [--keep-attachments]
       [--schema MODEL|DICT|'name, age int'] [--max-steps N] [--approve] [--tool-timeout S]
       [--no-parallel] [--web-search N] [--web-fetch]
<prompt; {name} is filled from the notebook namespace, in flag values too (-s {manual})>
  --attach X                         a PDF, image (PNG/JPEG/GIF/WebP) or text file, an https://
                                     URL, or a notebook name holding bytes, a Path, a PIL image,
                                     a matplotlib figure or a DataFrame (as CSV); repeatable, sent
                                     before the prompt; each one's tokens and cost are shown first
                                     (--dry-run: what caching it saves over several questions)
  --upload                           send attachments through Anthropic's Files API: uploaded once,
                                     then by file_id (reused while the API keeps the file)
  --keep-attachments                 the history keeps their bytes (else name, hash, size, tokens)
  --tools NAME[,NAME...]             notebook functions run as tools (a loop: call, run, send the
                                     results back), lists of them, or OpenAI-format definitions
                                     (sent, their calls shown, not run); each step's cost and
                                     the tools overhead are shown
  --max-steps N                      at most N model calls in a loop (default 5)
  --approve                          ask before each tool call (a button, or a prompt)
  --tool-timeout S                   stop a tool after S seconds (default 30)
  --no-parallel                      one tool call per model turn
  --web-search N, --web-fetch        Claude's server tools (native API): at most N searches a
                                     call, $10 per 1,000 on top of the tokens
  --schema MODEL|DICT|'f, g int'     the answer's JSON shape, sent as the provider's own
                                     structured output; -o gets it parsed (the text if it fails)

%%opus --each VAR [--variants VAR] [--check NAME ...] [--concurrency N] [--fresh] [--batch]
       [--repeat N] [--judge "RUBRIC" [--judge-model M]] [--sample N [--seed S]]
       [-m A,B | --cascade A,B,C [--accept SCORE] [--compare]] [-o VAR]
<prompt; {field} is filled from each row first, then from the notebook>
%opus --each VAR --variants VAR ...  the same on one line: the prompts come from --variants
                                     a grid: variants × models × rows, paced within rate limits
                                     and the budget; finished cells are reused unless --fresh;
                                     -o gives a pandas DataFrame, one row per cell; the summary
                                     shows each pass rate, cost and latency with its 95 %
                                     interval, cost per correct answer, and names a winner only
                                     when the paired test on the same rows says so
                                     (opus_magic.summary(GRID_ID) gives it as a DataFrame)
  --each VAR                         a DataFrame, a list of dicts, or a list of strings ({item})
  --variants VAR                     a dict {name: prompt} or a list of prompts (else the cell)
  --attach {COLUMN}                  one file a row: the row's path, bytes or image
  --check NAME                       json, contains:TEXT, regex:PATTERN, equals:COLUMN,
                                     max_words:N, field:NAME<=3 (a --schema field), or a
                                     notebook function f(answer, row)
  --repeat N                         sample each cell N times; rows say how many samples agree
  --judge "RUBRIC" [--judge-model M] check 'judge': a model's 0-1 score; --dry-run shows its prompt
  --batch                            submit the cells as provider batches (Anthropic Message
                                     Batches, OpenAI Batch API) at the batch price; the cell
                                     returns at once, a view polls them (Cancel), and this kernel
                                     collects them when they end (%opus batches collect elsewhere)
  --sample N                         run N rows drawn at random and project the whole dataset's
                                     cost (interactive and batch) and time with 95 % intervals;
                                     the full run is refused if its projection crosses the budget
  --seed S                           the seed --sample draws with (default 0, always stated)
  --cascade A,B,C                    each row to A; one whose answer fails a --check goes on to
                                     B, and so on (C's answer stands): paths, rows settled per
                                     stage, cost against C alone (estimated; --compare measures)
  --accept SCORE                     a score-valued check (a judge) accepts at SCORE (default 0.5)
  --compare                          also run every row on C alone: pass rates, cost per row and
                                     per correct answer, the saving, with intervals

%opus models [--all] [WORD]          current models and aliases first, then one row per model:
                                     prices with source and date, limits, legacy successors;
                                     a WORD naming a model also says where genai-prices differs
%opus config [key=value ...]         show or set settings (the API key is always masked)
%opus history [-n N] [-m MODEL] [--tag TAG] [--search WORDS] [--since 2d|DATE]
              [--user NAME] [--project NAME] [--grid GRID_ID]
%opus show RUN_ID [--full]           one run (a tool loop: every step, call and result); long
                                     prompts and answers folded, --full prints them whole
%opus compare RUN_ID RUN_ID [...]    side by side: word diff, tokens, cost ×, latency
%opus compare COMPARISON_ID          the runs of one -m a,b,c fan-out
%opus compare --tag A --tag B        two grids compared on the same rows (intervals, the paired
                                     test, rows needed) and aligned row by row
%opus grid [GRID_ID]                 re-show a grid (the last one by default) from history
%opus stats [--by model|tag|user|project]  totals, cost, cache hit rate, latency (filters as history)
%opus budget [USD|off]               session spend cap
%opus batches [collect [ID]|cancel ID|resubmit ID]   provider batches: state, results, retries
%opus reconcile [--since 7d|DATE] [--until DATE] [--by day,model,user,project,key]
                [--provider anthropic|openai] [--refresh]
                                     the history beside the provider's usage and cost reports
                                     (read with admin_key), per UTC day and model: the
                                     difference and why (outside runs, estimates, cache TTL,
                                     batch, a catalog price); days fetched are kept
%opus sim [real|instant] [tokens_per_second=N] [ttft_s=S] [answer_tokens=N] [batch_delay=S]
%opus sim fault NAME [key=value ...] the built-in simulator (no key set): its pace (real: about
                                     60 tokens/s after 0.4 s; OPUS_MAGIC_SIM_PACE=instant starts
                                     it instant), a fault for the next requests (429 times=1,
                                     cut after=12, error status=413, ...; fault off), a batch's
                                     delay; alone, its URL and settings; reset clears faults
%opus help                           this text

Models: opus, sonnet and haiku are Claude Opus, Sonnet and Haiku 5.5, the current generation
(the default model is claude-opus-5-5); opus-4.6, sonnet-4.5 and the other older names still
work, and a run on a legacy model says so in its first line. With no key, Claude models answer
from the simulator's Messages API (--cache, --thinking, --effort, exact counts), others from
its chat completions; -t is sent where the model takes a temperature (not Opus/Sonnet/Haiku 5.5).

Settings (%opus config key=value, %config OpusMagics.key = value, or the config file):
""" + settings_help()
KEY_IN_HISTORY = ("The key is set (shown masked), but this line stays in IPython's input history: "
                  "next time use %opus config api_key (or admin_key) alone, a hidden prompt, or "
                  "api_key_env=VARIABLE.")


def dispatch(magics: Any, line: str) -> Any:
    words = split_words(line)
    if not words:
        print(HELP)
        return None
    name, rest = words[0], words[1:]
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        raise UsageError(f"Unknown subcommand '{name}': use one of {', '.join(SUBCOMMANDS)}.")
    return handler(magics.session, rest)


def cmd_help(session: Session, args: list[str]) -> None:
    print(HELP)


def cmd_config(session: Session, args: list[str]) -> None:
    asked = args[0] if args in (["api_key"], ["admin_key"]) else None
    values = {asked: ask_for_key(asked)} if asked else config_values(args)
    for name in KEYS:
        if name in values:
            values[f"{name}_env"] = ""  # a key given now wins over one read from a variable
    before = dict(listing(session.configure())) if values else {}
    settings = session.configure(**values)
    if not asked and any(name in values for name in KEYS):
        report(KEY_IN_HISTORY)
    if values:
        print(changes_text(before, dict(listing(settings)), values))
        return
    for key, shown in listing(settings):
        print(f"{key:<20} {shown}")
    if settings.profiles:
        print(f"{'profiles':<20} {', '.join(sorted(settings.profiles))}")
    print(f"{'config file':<20} {settings.config_file}")
    if settings.config_problem:
        print(f"{'':<20} not used: {settings.config_problem}")


def ask_for_key(name: str = "api_key") -> str:
    """The key typed at a hidden prompt; a frontend without input says what to do instead."""
    try:
        key = getpass.getpass(f"{name} (hidden; never shown or stored): ").strip()
    except (NotImplementedError, EOFError):  # e.g. a headless kernel: no stdin to ask on
        raise UsageError(f"This frontend cannot ask for the key: set an environment variable and "
                         f"use %opus config {name}_env=VARIABLE.") from None
    if not key:
        raise UsageError("No key was entered; nothing was changed.")
    return key


def config_values(words: list[str]) -> dict[str, str]:
    """`key=value ...`; words after a value that name no setting belong to it (system=Be terse)."""
    values: dict[str, str] = {}
    key: str | None = None
    for word in words:
        name, sep, value = word.partition("=")
        if sep and (key is None or name.strip() in SCALAR_KEYS):
            key = name.strip()
            values[key] = value
        elif key is not None:
            values[key] += " " + word
        else:
            raise UsageError(f"Use key=value (got '{word}'), e.g. %opus config model=opus; "
                             f"%opus config api_key alone asks for the key without showing it.")
    return values


def cmd_models(session: Session, args: list[str]) -> None:
    everything = "--all" in args
    words = [arg for arg in args if arg != "--all"]
    if len(words) > 1 or any(word.startswith("-") for word in words):
        raise UsageError("Use %opus models [--all] [WORD], e.g. %opus models claude.")
    print(models_table(session.catalog(session.settings()), everything, words[0] if words else None))


def cmd_budget(session: Session, args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("Use %opus budget [USD|off], e.g. %opus budget 2.50.")
    if args:
        session.configure(budget=args[0].lstrip("$"))
    session.budget.cap = session.settings().budget
    print(session.budget.describe())


def cmd_history(session: Session, args: list[str]) -> None:
    parsed = _options("history", args, lambda p: p.add_argument("-n", type=int, default=20))
    settings = session.settings()
    store = session.store(settings)
    filters = filter_values(parsed)
    runs = select.select(store, limit=parsed.n, catalog=session.catalog(settings), **filters)
    missing = None if runs else select.nothing_matched(filters)
    if missing:
        print(missing)
    else:
        show(history_view(runs))
    if store.notice():
        print(store.notice())


def cmd_stats(session: Session, args: list[str]) -> None:
    parsed = _options("stats", args, lambda p: p.add_argument("--by", default="model"))
    settings = session.settings()
    store = session.store(settings)
    filters = filter_values(parsed)
    groups = totals.compute(store, parsed.by, session.catalog(settings), **filters)
    missing = None if groups[-1].runs else select.nothing_matched(filters)
    if missing:
        print(missing)
    else:
        show(stats.stats_view(groups))
    if store.notice():
        print(store.notice())


def cmd_compare(session: Session, args: list[str]) -> None:
    settings = session.settings()
    if "--tag" in args:
        tags = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--tag"]
        show(grid_history.compare_tags(grids.tagged_grids(session.store(settings), tags)))
        return
    runs = select.find_runs(session.store(settings), args)
    show(compare.compare_view(runs))


def _options(name: str, args: list[str], extra: Callable[[Any], Any]) -> Any:
    import argparse

    parser = argparse.ArgumentParser(prog=f"%opus {name}", add_help=False, exit_on_error=False)
    extra(parser)
    add_filter_options(parser)
    try:
        parsed, unknown = parser.parse_known_args(args)
    except argparse.ArgumentError as exc:
        raise UsageError(f"{exc}: see %opus help.") from None
    if unknown:
        raise UsageError(f"Unknown {name} option {' '.join(unknown)}: see %opus help.")
    return parsed


def cmd_show(session: Session, args: list[str]) -> None:
    full = "--full" in args
    args = [arg for arg in args if arg != "--full"]
    if len(args) != 1:
        raise UsageError("Use %opus show RUN_ID [--full] (ids are in %opus history).")
    settings = session.settings()
    store = session.store(settings)
    record = store.get(args[0])
    if record is None:
        raise UsageError(f"No run '{args[0]}' in history (ids are in %opus history).")
    if record.chain_id is not None:
        steps = chains.chain_of(store, record)
        show(plain("\n".join(show_lines(steps, chains.chain_overhead(
            steps, session.catalog(settings))))))
        return
    show(plain(show_text(record, full)))


SUBCOMMANDS = {"help": cmd_help, "config": cmd_config, "models": cmd_models, "budget": cmd_budget,
               "history": cmd_history, "show": cmd_show, "compare": cmd_compare, "stats": cmd_stats,
               "batches": cmd_batches, "reconcile": cmd_reconcile,
               "grid": cmd_grid, "sim": cmd_sim}
