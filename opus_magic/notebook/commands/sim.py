"""`%opus sim ...`: steer the built-in simulator this kernel's runs go to when no key is set."""
from __future__ import annotations

from typing import Any

from opus_magic.config import SIMULATOR
from opus_magic.core.session import Session
from opus_magic.errors import ConfigError, UsageError
from opus_magic.sim.pace import PACES, pace
from opus_magic.view.commands.sim import sim_lines

SPEED_KEYS = ("tokens_per_second", "ttft_s", "answer_tokens", "usage_scale")
USAGE = ("Use %opus sim [real|instant] [tokens_per_second=N] [ttft_s=S] [answer_tokens=N] "
         "[usage_scale=X] [batch_delay=S], %opus sim fault NAME [key=value ...] (fault off "
         "clears it), or %opus sim reset.")


def cmd_sim(session: Session, args: list[str]) -> None:
    simulator = session.simulator()
    try:
        changed = _steer(simulator, args)
    except (TypeError, ValueError, ConfigError) as exc:
        raise UsageError(f"%opus sim {' '.join(args)}: {exc} (%opus sim shows what "
                         f"stands).") from None
    settings = session.settings()
    elsewhere = None if settings.base_url in (None, SIMULATOR) and settings.api_key is None else (
        "Runs of this session go to a configured endpoint, not to this simulator: "
        "%opus config base_url=sim sends them here.")
    print("\n".join(sim_lines(simulator.base_url, simulator.status(), changed, elsewhere)))


def _steer(simulator: Any, words: list[str]) -> list[str]:
    """Apply the words in order; returns what changed, as given."""
    if words[:1] == ["fault"]:
        if len(words) < 2:
            raise UsageError("%opus sim fault NAME [key=value ...], e.g. %opus sim fault 429 "
                             "retry_after=2 times=1; %opus sim fault off clears it.")
        name = "normal" if words[1] in ("off", "none", "normal") else words[1]
        simulator.scenario(name, **_values(words[2:]))
        return [f"fault {name if name != 'normal' else 'off'}"]
    if words == ["reset"]:
        simulator.reset()
        return ["reset: request log, prompt cache, fault, batches and rate limits cleared"]
    given = _values([word for word in words if word not in PACES])
    unknown = [key for key in given if key not in (*SPEED_KEYS, "batch_delay")]
    if unknown:
        raise UsageError(f"'{unknown[0]}' is not a simulator setting. {USAGE}")
    for word in words:
        if word in PACES:
            simulator.configure(**pace(word))
    if "batch_delay" in given:
        simulator.batches(delay_s=given.pop("batch_delay"))
    if given:
        simulator.configure(**given)
    return [f"pace {word}" if word in PACES else word for word in words]


def _values(words: list[str]) -> dict[str, Any]:
    """`key=value` words with numbers, true/false and none read as such."""
    values: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        if not sep or not key:
            raise UsageError(f"'{word}' is not key=value. {USAGE}")
        values[key] = _value(raw)
    return values


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("none", "off"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw
