"""The test environment is the committed lock: every installed distribution is pinned there."""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_distribution_is_the_locked_version() -> None:
    pins = {normalised(name): version for name, version in PIN.findall(LOCK.read_text())}
    installed = {normalised(d.metadata["Name"]): d.version
                 for d in importlib.metadata.distributions()}
    installed = {name: version for name, version in installed.items()
                 if name not in ("opus-magic", "pip")}
    assert {name: v for name, v in installed.items() if pins.get(name) != v} == {}


def test_every_locked_pin_carries_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 7)[-1])
    pinned = [entry for entry in entries if PIN.match(entry)]
    assert pinned and all("--hash=sha256:" in entry for entry in pinned)
