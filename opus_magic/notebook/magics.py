"""`%%opus` and `%opus`: parse, snapshot settings, dispatch. Nothing else lives here."""
from __future__ import annotations

import sys
from typing import Any

from IPython.core.error import UsageError as ArgumentError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float, Int, Unicode, observe

from opus_magic.config import CACHE_MODES, as_secret
from opus_magic.core.session import default_session
from opus_magic.core.toolspec import tools_from_namespace
from opus_magic.errors import OpusError, UsageError
from opus_magic.notebook import commands
from opus_magic.notebook.grid import build_spec, run_grid
from opus_magic.notebook.interpolate import interpolate

TRAIT_SETTINGS = ("model", "max_tokens", "temperature", "system", "concise", "stream", "base_url",
                  "api_key", "history_path", "profile", "budget", "timeout_s", "max_retries",
                  "view", "api", "cache")


class SecretUnicode(Unicode):
    """A string trait holding a Secret, so listing the traits shows only its mask."""

    def validate(self, obj: Any, value: Any) -> Any:
        value = super().validate(obj, value)
        return None if value is None else as_secret(value)


def unquote(value: str | None) -> str | None:
    """`-s "You are terse"` arrives with its quotes kept; drop one matching pair."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def thinking_flag(value: str | None) -> int | str | None:
    """`--thinking` alone is adaptive; `--thinking N` a budget of N tokens."""
    if value is None or value == "adaptive":
        return value
    if not value.isdigit():
        raise UsageError(f"--thinking takes a number of tokens (e.g. --thinking 2048) or nothing "
                         f"(adaptive), not {value!r}.")
    return int(value)


def report(message: str) -> None:
    """Show a one-line message where the user looks, without a traceback."""
    print(f"opus: {message}", file=sys.stderr)


@magics_class
class OpusMagics(Magics):
    """Prompt experiments against chat-completion models, with live cost and history."""

    model = Unicode(None, allow_none=True, config=True, help="Default model id or alias.")
    max_tokens = Int(None, allow_none=True, config=True, help="Default max_tokens (1024).")
    temperature = Float(None, allow_none=True, config=True, help="Default temperature.")
    system = Unicode(None, allow_none=True, config=True, help="Default system prompt.")
    concise = Unicode(None, allow_none=True, config=True, help="off, concise or code.")
    stream = Bool(None, allow_none=True, config=True, help="Stream answers (default on).")
    base_url = Unicode(None, allow_none=True, config=True, help="OpenAI-compatible base URL, or 'sim'.")
    api_key = SecretUnicode(None, allow_none=True, config=True, help="API key (never shown).")
    history_path = Unicode(None, allow_none=True, config=True, help="SQLite history file.")
    profile = Unicode(None, allow_none=True, config=True, help="Default endpoint profile.")
    budget = Unicode(None, allow_none=True, config=True, help="Session spend cap in USD, or off.")
    timeout_s = Float(None, allow_none=True, config=True, help="Request timeout in seconds.")
    max_retries = Int(None, allow_none=True, config=True, help="Retries on 429/5xx/timeouts.")
    view = Unicode(None, allow_none=True, config=True,
                   help="auto (widgets in Jupyter, text elsewhere), widget or text.")
    api = Unicode(None, allow_none=True, config=True,
                  help="auto (native for Anthropic keys and hosts), openai or anthropic.")
    cache = Unicode(None, allow_none=True, config=True,
                    help="Prompt caching on Claude's native API: auto, 5m, 1h or off.")

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.session = default_session()

    @observe(*TRAIT_SETTINGS)
    def _setting_changed(self, change: Any) -> None:
        try:
            self.session.configure(**{change["name"]: change["new"]})
        except OpusError as exc:
            report(str(exc))

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
    @argument("--tools", help="Variable holding OpenAI-format tool definitions.")
    @argument("--continue", dest="continue_", nargs="?", const="last", default=None,
              help="Continue the last run's conversation (or RUN_ID's).")
    @argument("--cache", choices=CACHE_MODES,
              help="Prompt caching on Claude's native API: auto (default), 5m, 1h or off.")
    @argument("--thinking", nargs="?", const="adaptive", default=None,
              help="Extended thinking on Claude's native API: adaptive, or a budget of N tokens.")
    @argument("--effort", help="Effort on Claude's native API: low, medium, high or max.")
    @argument("--each", help="Grid: run the prompt once per row of this variable "
              "(DataFrame, list of dicts, list of strings as {item}).")
    @argument("--variants", help="Grid: a dict {name: prompt} or list of prompt variants.")
    @argument("--check", action="append", default=[],
              help="Grid: json, contains:TEXT, regex:PATTERN, equals:COLUMN, max_words:N, or a "
                   "notebook function f(answer, row) (repeatable).")
    @argument("--concurrency", help="Grid: requests in flight per endpoint (default 4).")
    @argument("--fresh", action="store_true", help="Grid: run every cell, reuse nothing.")
    @cell_magic
    def opus(self, line: str, cell: str) -> None:
        """Send the cell to the model and stream the answer with a live cost meter."""
        try:
            args = parse_argstring(self.opus, line)
        except (ArgumentError, ValueError) as exc:  # argparse, or shlex on an unclosed quote
            report(f"{exc} (see %opus help)")
            return
        for name, value in vars(args).items():
            if isinstance(value, str):
                setattr(args, name, unquote(value))
        try:
            self._run_cell(args, cell)
        except OpusError as exc:
            report(str(exc))

    def _run_cell(self, args: Any, cell: str) -> None:
        notes: tuple[str, ...] = ()
        prompt = cell.strip("\n")
        if args.each:
            if args.continue_:
                raise UsageError("--each and --continue do not go together: a grid starts "
                                 "fresh conversations.")
        elif args.variants or args.check or args.fresh or args.concurrency:
            raise UsageError("--variants, --check, --concurrency and --fresh need --each VAR.")
        elif not args.no_interpolate:
            prompt, unresolved = interpolate(prompt, self.shell.user_ns)
            if unresolved:
                notes = (f"Left as written (not defined in the notebook): {', '.join(unresolved)}",)
        models = tuple(m.strip() for m in (args.model or "").split(",") if m.strip())
        tools = tools_from_namespace(self.shell.user_ns, args.tools) if args.tools else None
        cell_input = commands.CellInput(
            prompt=prompt, models=models, max_tokens=args.max_tokens,
            temperature=args.temperature, system=args.system, concise=args.concise,
            stream=False if args.no_stream else None, profile=args.profile, tag=args.tag,
            continue_from=args.continue_, dry_run=args.dry_run, notes=notes, tools=tools,
            output=args.output, thinking=thinking_flag(args.thinking), effort=args.effort,
            cache=args.cache)
        if args.each:
            spec = build_spec(cell_input, self.shell.user_ns, args.each, args.variants,
                              [unquote(c) for c in args.check], args.concurrency, args.fresh,
                              not args.no_interpolate)
            run_grid(self.session, spec, args.output)
        else:
            commands.run_cell(self.session, cell_input)

    @line_magic("opus")
    def opus_line(self, line: str) -> Any:
        """`%opus models|config|history|show|compare|stats|budget|help`."""
        try:
            return commands.dispatch(self, line)
        except OpusError as exc:
            report(str(exc))
        return None
