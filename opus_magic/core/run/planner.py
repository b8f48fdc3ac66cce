"""Settling a cell once: its settings, the catalog, and each model's target and run policy.

A `Planner` is made per cell (or per grid, whose cells share their flags): it layers the
settings once per model, resolves each model's endpoint once, and reads the calibration of
tiktoken's estimates from the history once per model and endpoint. Planning a run from what was
settled is then a pure function (`plan_run`) that never touches the store.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opus_magic.config import Settings
from opus_magic.core.run.plan import Plan, plan_run
from opus_magic.core.run.request import CellInput, RunRequest, Turns
from opus_magic.core.run.target import RunPolicy, Target
from opus_magic.core.session import Session
from opus_magic.cost import calibration, lineup, tokens
from opus_magic.cost.catalog import Catalog
from opus_magic.errors import UsageError
from opus_magic.store.queries import calibration_counts
from opus_magic.wire.retry import RetryPolicy

if TYPE_CHECKING:  # attachments' code is loaded by the first cell that has some
    from opus_magic.core.run.attach.files import Attachments


def cell_flags(cell: CellInput) -> dict[str, Any]:
    """The settings a cell's flags set (None: not given, the settings decide)."""
    return {"max_tokens": cell.max_tokens, "temperature": cell.temperature,
            "system": cell.system, "concise": cell.concise, "profile": cell.profile,
            "stream": cell.stream, "cache": cell.cache}


class Planner:
    """Plans for one cell's models; what every plan shares is worked out once."""

    def __init__(self, session: Session, flags: Mapping[str, Any] | None = None,
                 sending: bool = True) -> None:
        """`sending` False (a dry run): nothing is uploaded, and each attachment is counted."""
        self.session = session
        self.flags = {key: value for key, value in (flags or {}).items() if value is not None}
        self.sending = sending
        self._settings: dict[str | None, Settings] = {}
        self._catalog: Catalog | None = None
        self._targets: dict[tuple[str, str | None], Target] = {}
        self._policies: dict[int, tuple[Settings, RunPolicy]] = {}  # by the settings' identity
        self._attachments: Attachments | None = None  # made for the first attachment

    def settings(self, model: str | None = None) -> Settings:
        """Defaults < file < environment < session < the cell's flags, with `model` (or the
        default model when None)."""
        if model not in self._settings:
            chosen = {} if model is None else {"model": model}
            self._settings[model] = self.session.settings(**{**self.flags, **chosen})
        return self._settings[model]

    def catalog(self, settings: Settings) -> Catalog:
        """The catalog with the settings' price map and config models (the same for every model
        of a cell: the flags do not change them)."""
        if self._catalog is None:
            self._catalog = self.session.catalog(settings)
        return self._catalog

    def target(self, settings: Settings) -> Target:
        """The model's catalog entry, endpoint and wire name (a profile's alias counts), and the
        calibration of its estimates: resolved once per model and profile."""
        key = (settings.model, settings.profile)
        if key not in self._targets:
            self._targets[key] = self._resolve(settings)
        return self._targets[key]

    def _resolve(self, settings: Settings) -> Target:
        catalog = self.catalog(settings)
        requested = settings.model
        model_id = catalog.resolve(requested)
        endpoint, wire_model, notes = self.session.endpoint(settings, model_id, requested)
        if model_id not in catalog.models:
            model_id = catalog.resolve(wire_model)
        learned = None
        if not tokens.is_native(model_id):
            names = dict.fromkeys((*catalog.names_for(model_id), requested))
            counts = calibration_counts(self.session.store(settings), tuple(names),
                                        endpoint.base_url, calibration.WINDOW)
            learned = calibration.learn(*counts) or calibration.prior(catalog.get(model_id))
        info = catalog.get(model_id)
        return Target(requested=requested, model_id=model_id, info=info, endpoint=endpoint,
                      wire_model=wire_model, notes=tuple(notes), calibration=learned,
                      legacy=lineup.legacy_note(info, catalog))

    def policy(self, settings: Settings) -> RunPolicy:
        """How a plan made with these settings is carried out: settled once per settings (a
        grid plans thousands of cells with the same few)."""
        held = self._policies.get(id(settings))
        if held is None or held[0] is not settings:
            held = self._policies[id(settings)] = (settings, self._policy(settings))
        return held[1]

    def _policy(self, settings: Settings) -> RunPolicy:
        return RunPolicy(store=self.session.store_key(settings),
                         retry=RetryPolicy(settings.max_retries, settings.retry_cap_s),
                         breaker_threshold=settings.breaker_threshold,
                         breaker_cooldown_s=settings.breaker_cooldown_s,
                         timeout_s=settings.timeout_s, budget=settings.budget, view=settings.view)

    def plan(self, request: RunRequest, settings: Settings, count_later: bool = False) -> Plan:
        """Pre-flight `request` and refuse what must not run, the session budget included;
        `count_later`: a run shown as it streams may go out before its tokens are counted."""
        target, policy = self.target(settings), self.policy(settings)
        attachments = self.attachments() if request.attachments else None
        attached = attachments.prepared(request, target) if attachments is not None else None
        if (attachments is not None and attached is not None and request.upload
                and target.transport.files and self.sending):
            # admitted before anything is uploaded, then counted exactly by file_id
            self.session.budget.admit(plan_run(request, target, policy, attached=attached))
            attached = attachments.uploaded(attached, target, policy)
        plan = plan_run(request, target, policy, self.session.exact_count,
                        count_later and settings.budget is None, attached, not self.sending)
        self.session.budget.admit(plan)
        if attachments is not None:
            attachments.remember(plan.attached)
        return plan

    def attachments(self) -> Attachments:
        """What this planner prepared and uploaded (their code loaded by the first attachment)."""
        if self._attachments is None:
            from opus_magic.core.run.attach.files import Attachments

            self._attachments = Attachments(self.session)
        return self._attachments

    def plan_model(self, cell: CellInput, model: str | None, comparison_id: str | None = None,
                   count_later: bool = False, prompt: str | None = None) -> Plan:
        """The plan of one of the cell's models (None: the default model), with its own prompt
        or `prompt` (a grid cell's row written into the cell's template)."""
        settings = self.settings(model)
        request = build_request(settings, cell.prompt if prompt is None else prompt, tag=cell.tag,
                                tools=cell.tools.definitions if cell.tools else None,
                                notes=cell.notes, history=cell.history,
                                parent_id=cell.parent_id, comparison_id=comparison_id,
                                thinking=cell.thinking, effort=cell.effort,
                                attachments=_turns(cell),
                                upload=cell.upload, keep_attachments=cell.keep_attachments,
                                output_schema=cell.schema, server_tools=cell.server_tools,
                                parallel_tools=cell.parallel_tools)
        return self.plan(request, settings, count_later)


def _turns(cell: CellInput) -> Turns:
    """The attachments of each user turn of the cell's conversation; () without any."""
    if not (cell.attachments or cell.earlier_attachments):
        return ()
    from opus_magic.core.run.attach.attached import turn_groups

    return turn_groups(cell.history, cell.earlier_attachments, cell.attachments)


def plan_request(session: Session, request: RunRequest, settings: Settings,
                 count_later: bool = False) -> Plan:
    """One request planned on its own, with the settings it was built from."""
    return Planner(session).plan(request, settings, count_later)


def replan(session: Session, plan: Plan, **changes: Any) -> Plan:
    """The same run with some of its request changed (Run again with other max_tokens or mode),
    to the same target under the same policy; admitted by the session budget afresh."""
    again = plan_run(dataclasses.replace(plan.request, **changes), plan.target, plan.policy,
                     session.exact_count, attached=plan.attached)
    session.budget.admit(again)
    return again


def build_request(settings: Settings, prompt: str, **extra: Any) -> RunRequest:
    """A RunRequest from resolved settings; checks what the settings layer cannot."""
    if not prompt.strip():
        raise UsageError("The cell is empty: write a prompt below %%opus.")
    if settings.temperature is not None and not 0 <= settings.temperature <= 2:
        raise UsageError(f"Temperature {settings.temperature:g} is out of range: use 0 to 2 "
                         f"(Anthropic's endpoint caps it at 1).")
    return RunRequest(prompt=prompt, model=settings.model, max_tokens=settings.max_tokens,
                      temperature=settings.temperature, system=settings.system,
                      concise=settings.concise, stream=settings.stream, cache=settings.cache,
                      **extra)
