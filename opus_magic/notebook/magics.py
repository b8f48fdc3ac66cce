"""`%%opus` and `%opus`: parse, snapshot settings, dispatch. Nothing else lives here."""
from __future__ import annotations

import keyword
import types
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError as ArgumentError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, HasTraits, Int, TraitType, Unicode, observe

from opus_magic.config import (
    CACHE_MODES,
    SCALAR_KEYS,
    SETTINGS,
    Secret,
    as_secret,
    base_type,
)
from opus_magic.errors import OpusError, UsageError
from opus_magic.notebook.interpolate import interpolate, interpolate_flags
from opus_magic.notebook.lines import report, split_words

if TYPE_CHECKING:
    from opus_magic.core.session import Session


class SecretUnicode(Unicode):
    """A string trait holding a Secret, so listing the traits shows only its mask."""

    def validate(self, obj: Any, value: Any) -> Any:
        value = super().validate(obj, value)
        return None if value is None else as_secret(value)


def trait_for(name: str, description: str) -> TraitType:
    """The `%config OpusMagics.<name>` trait of a setting; None means "not set here"."""
    trait = {Secret: SecretUnicode, bool: Bool, int: Int, float: Float}.get(base_type(name), Unicode)
    return trait(None, allow_none=True, config=True, help=description)


def thinking_flag(value: str | None) -> int | str | None:
    """`--thinking` alone is adaptive; `--thinking N` a budget of N tokens."""
    if value is None or value == "adaptive":
        return value
    if not value.isdigit():
        raise UsageError(f"--thinking takes a number of tokens (e.g. --thinking 2048) or nothing "
                         f"(adaptive), not {value!r}.")
    return int(value)


def grid_flags_fit(args: Any) -> None:
    """Refuses flags a grid cell cannot take together."""
    if args.continue_:
        raise UsageError("--each and --continue do not go together: a grid starts fresh "
                         "conversations.")
    if args.batch and (args.concurrency or args.attach or args.judge):
        raise UsageError("--concurrency, --attach and --judge go with requests sent from here; a "
                         "--batch runs on the provider's own engine: drop one of them.")
    if args.batch and args.sample:
        raise UsageError("--sample times the rows it runs from here, and its projection shows "
                         "the batch price too: drop --batch.")
    if (args.accept is not None or args.compare) and not args.cascade:
        raise UsageError("--accept and --compare go with --cascade A,B,C.")


SettingTraits = types.new_class("SettingTraits", (HasTraits,), exec_body=lambda ns: ns.update(
    {f.name: trait_for(f.name, f.metadata["help"]) for f in SETTINGS}))


@magics_class
class OpusMagics(Magics, SettingTraits):  # type: ignore[misc,valid-type]
    """Prompt experiments against chat-completion models, with live cost and history."""

    # The engine, the views and the subcommands are imported on first use, not by %load_ext
    # (a warm-up thread loads them meanwhile).

    @property
    def session(self) -> Session:
        from opus_magic.core.session import default_session

        return default_session()

    @observe(*SCALAR_KEYS)
    def _setting_changed(self, change: Any) -> None:
        try:
            self.session.configure(**{change["name"]: change["new"]})
        except OpusError as exc:
            report(str(exc))

    @no_var_expand  # `{name}`s are filled after the line is split: see interpolate_flags
    @magic_arguments()
    @argument("-m", "--model", help="Model id or alias; a comma list compares models.")
    @argument("--max-tokens", dest="max_tokens", help="Upper bound on output tokens.")
    @argument("-t", "--temperature", help="Sampling temperature.")
    @argument("-s", "--system", help="System prompt.")
    @argument("--concise", action="store_const", const="concise", dest="concise",
              help="Ask for a concise answer (adds a visible instruction).")
    @argument("--code-only", action="store_const", const="code", dest="concise",
              help="Ask for code only (adds a visible instruction).")
    @argument("--no-stream", action="store_true", help="Wait for the whole answer.")
    @argument("-o", "--output", help="Store the answer text in this variable.")
    @argument("--tag", help="Label the run in history.")
    @argument("--dry-run", action="store_true", help="Count tokens and cost; send nothing.")
    @argument("--no-interpolate", action="store_true", help="Send {braces} as written.")
    @argument("--profile", help="Endpoint profile from the config file.")
    @argument("--tools", help="Notebook functions to run as tools (comma-separated), a list of "
              "them, or OpenAI-format definitions (calls then shown, not run).")
    @argument("--max-steps", dest="max_steps", help="Tool loop: at most N model calls (default 5).")
    @argument("--approve", action="store_true", help="Tool loop: ask before each tool call.")
    @argument("--tool-timeout", dest="tool_timeout",
              help="Tool loop: stop a tool after S seconds (default 30).")
    @argument("--no-parallel", dest="no_parallel", action="store_true",
              help="Tool loop: one tool call per model turn.")
    @argument("--web-search", dest="web_search",
              help="Claude's web search on the server, at most N searches a call.")
    @argument("--web-fetch", dest="web_fetch", action="store_true",
              help="Claude's web fetch on the server (URLs in the prompt).")
    @argument("--schema", help="The answer's JSON shape: a pydantic model, a JSON-schema dict, or "
              "'name, age int, bio: a short bio'; -o gets it parsed.")
    @argument("--continue", dest="continue_", nargs="?", const="last", default=None,
              help="Continue the last run's conversation (or RUN_ID's, or the last comparison's "
                   "run of MODEL).")
    @argument("--cache", choices=CACHE_MODES,
              help="Prompt caching on Claude's native API: auto (default), 5m, 1h or off.")
    @argument("--thinking", nargs="?", const="adaptive", default=None,
              help="Extended thinking on Claude's native API: adaptive, or a budget of N tokens.")
    @argument("--effort", help="Effort on Claude's native API: low, medium, high or max.")
    @argument("--attach", action="append", default=[],
              help="A file, an https:// URL, or a notebook name holding bytes, a Path, a PIL "
                   "image, a matplotlib figure or a DataFrame, sent before the prompt "
                   "(repeatable; in a grid {column} names a row's).")
    @argument("--upload", action="store_true",
              help="Send attachments through Anthropic's Files API (uploaded once, then by id).")
    @argument("--keep-attachments", action="store_true",
              help="Keep the attachments' bytes in the history, for exact replay.")
    @argument("--each", help="Grid: run the prompt once per row of this variable "
              "(DataFrame, list of dicts, list of strings as {item}).")
    @argument("--variants", help="Grid: a dict {name: prompt} or list of prompt variants.")
    @argument("--check", action="append", default=[],
              help="Grid: json, contains:TEXT, regex:PATTERN, equals:COLUMN, max_words:N, "
                   "field:NAME<=3, or a notebook function f(answer, row) (repeatable).")
    @argument("--concurrency", help="Grid: requests in flight per endpoint (default 4).")
    @argument("--fresh", action="store_true", help="Grid: run every cell, reuse nothing.")
    @argument("--repeat", help="Grid: sample each cell N times (agreement per row; every "
              "sample counts in the pass rate).")
    @argument("--judge", help="Grid: a model scores each answer 0-1 by this rubric, with a "
              "short reason (the check 'judge').")
    @argument("--judge-model", dest="judge_model",
              help="Grid: the judge's model (default the cheapest current model).")
    @argument("--cascade", help="Grid: each row to the first model, on to the next while its "
              "answer fails a --check (e.g. --cascade haiku,sonnet,opus); the last one's stands.")
    @argument("--accept", help="Cascade: the score a score-valued check must reach to accept an "
              "answer (default 0.5).")
    @argument("--compare", action="store_true",
              help="Cascade: also run every row on the last model alone, to measure the policy.")
    @argument("--batch", action="store_true",
              help="Grid: submit the cells through the providers' batch engines at the batch "
                   "price; results arrive later.")
    @argument("--sample", help="Grid: run N rows drawn at random (seeded) and project the whole "
              "dataset's cost and time, interactive and batch.")
    @argument("--seed", help="Grid: the seed --sample draws its rows with (default 0).")
    @cell_magic
    def opus(self, line: str, cell: str) -> None:
        """Send the cell to the model and stream the answer with a live cost meter."""
        try:
            args = self.opus.parser.parse_args(split_words(line))
            self._run_cell(args, cell, line)
        except ArgumentError as exc:  # argparse, through IPython's magic argument parser
            report(f"{exc} (see %opus help)")
        except OpusError as exc:
            report(str(exc))

    def _run_cell(self, args: Any, cell: str, line: str) -> None:
        self._refuse_combinations(args)
        unresolved = [] if args.no_interpolate else interpolate_flags(args, self.shell.user_ns)
        prompt = cell.strip("\n")
        if not args.each and not args.no_interpolate:
            prompt, in_prompt = interpolate(prompt, self.shell.user_ns)
            unresolved += in_prompt
        notes = (f"Left as written (not defined in the notebook): {', '.join(unresolved)}",
                 ) if unresolved else ()
        models = self._checked(args)
        from opus_magic.notebook import cells
        from opus_magic.notebook.tool_flags import tool_fields

        attached = () if args.each or not args.attach else self._attachments(args.attach)
        cell_input = cells.CellInput(
            prompt=prompt, models=models, max_tokens=args.max_tokens,
            temperature=args.temperature, system=args.system, concise=args.concise,
            stream=False if args.no_stream else None, profile=args.profile, tag=args.tag,
            continue_from=args.continue_, dry_run=args.dry_run, notes=notes,
            output=args.output, thinking=thinking_flag(args.thinking), effort=args.effort,
            cache=args.cache, attachments=attached, upload=args.upload,
            keep_attachments=args.keep_attachments, **tool_fields(args, self.shell.user_ns))
        if args.each:
            self._run_grid(args, cell_input)
        else:
            cells.run_cell(self.session, cell_input, line)

    def _attachments(self, values: list[str]) -> tuple[Any, ...]:
        """The cell's `--attach` values loaded (the attachment machinery imported only then)."""
        from opus_magic.notebook.attach import attachments_from

        return attachments_from(values, self.shell.user_ns)

    @staticmethod
    def _refuse_combinations(args: Any) -> None:
        """Flags that do not go together, each refused in one line before anything is read."""
        if args.each:
            grid_flags_fit(args)
        elif (args.variants or args.check or args.fresh or args.concurrency or args.batch
              or args.repeat or args.judge or args.judge_model or args.cascade or args.compare
              or args.accept is not None):
            raise UsageError("--variants, --check, --concurrency, --fresh, --repeat, --judge, "
                             "--cascade (--accept, --compare) and --batch need --each VAR.")
        elif args.sample or args.seed:
            raise UsageError("--sample and --seed draw rows of a grid: add --each VAR.")

    def _run_grid(self, args: Any, cell_input: Any) -> None:
        """A grid cell: its spec from the notebook's values (each row's attachments too)."""
        from opus_magic.notebook.attach import with_row_attachments
        from opus_magic.notebook.grid.batch import run_grid_batch
        from opus_magic.notebook.grid.run import build_spec, repeat_and_judge, run_grid

        spec = with_row_attachments(
            build_spec(cell_input, self.shell.user_ns, args.each, args.variants,
                       list(args.check), args.concurrency, args.fresh, not args.no_interpolate,
                       args.sample, args.seed,
                       repeat_judge=repeat_and_judge(args.repeat, args.judge, args.judge_model)),
            args.attach, self.shell.user_ns)
        if args.cascade:
            self._run_cascade(args, spec)
        else:
            (run_grid_batch if args.batch else run_grid)(self.session, spec, args.output)

    def _run_cascade(self, args: Any, spec: Any) -> None:
        from opus_magic.notebook.grid.cascade import accept_of, cascade_spec, run_cascade, stages_of

        stages = stages_of(args.cascade)
        accept = accept_of(args.accept)
        spec = cascade_spec(spec, stages, spec.cell.models)
        run_cascade(self.session, spec, args.output, accept, args.compare, args.batch)

    def _checked(self, args: Any) -> tuple[str, ...]:
        """The models named by -m; refuses an empty -m, --continue '' and a bad -o name."""
        models = tuple(m.strip() for m in (args.model or "").split(",") if m.strip())
        if args.model is not None and not models:
            raise UsageError("-m needs a model id or alias, e.g. -m opus, or -m opus,4o to compare.")
        if args.continue_ is not None and not args.continue_.strip():
            raise UsageError("--continue takes a run id from %opus history, or nothing for the "
                             "last run.")
        if args.output is not None:
            self._check_output_name(args.output)
        return models

    def _check_output_name(self, name: str) -> None:
        """`-o` names a plain notebook variable, never one of IPython's own names."""
        if not name.isidentifier() or keyword.iskeyword(name):
            raise UsageError(f"-o needs a Python variable name (got '{name}'), e.g. -o answer.")
        if name.startswith("__") or name in self.shell.user_ns_hidden:
            raise UsageError(f"-o {name} would overwrite a name IPython itself uses: pick another, "
                             f"e.g. -o answer.")

    @line_magic("opus")
    def opus_line(self, line: str) -> Any:
        """`%opus models|config|history|show|compare|stats|budget|help`; `%opus --each ...` is a
        `%%opus` cell with no body (a grid whose prompts come from --variants)."""
        if line.lstrip().startswith("-"):
            return self.opus(line, "")
        try:
            from opus_magic.notebook.commands.dispatch import dispatch

            return dispatch(self, line)
        except OpusError as exc:
            report(str(exc))
        return None
