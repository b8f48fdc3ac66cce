"""Folders that fail the way disks do: a small tmpfs that fills up, a read-only bind mount.

Both need mount(8) and root (root ignores file permissions, so a read-only folder has to be a
read-only mount); where the machine does not allow it the test is skipped, saying why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(done.stderr.strip() or f"mount {' '.join(args)} failed")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _need_mount() -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) for a real full disk or read-only folder")


@contextmanager
def small_disk(path: Path, size: str = "8m") -> Iterator[Path]:
    """`path` as a tmpfs of `size`, unmounted at the end."""
    _need_mount()
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    except OSError as exc:
        pytest.skip(f"this machine cannot mount a tmpfs ({exc})")
    try:
        yield path
    finally:
        _umount(path)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte; the filler file, to delete to free it again."""
    filler = disk / "filler"
    try:
        with open(filler, "wb") as out:
            while True:
                out.write(b"\0" * 4096)
                out.flush()
    except OSError:
        pass
    return filler


class ReadOnly:
    """A folder bind-mounted over itself, switched read-only and back."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, read_only: bool) -> None:
        _mount("-o", f"remount,bind,{'ro' if read_only else 'rw'}", str(self.path))


@contextmanager
def switchable(path: Path) -> Iterator[ReadOnly]:
    """`path` as a bind mount that `set(True)` makes read-only; unmounted at the end."""
    _need_mount()
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("--bind", str(path), str(path))
    except OSError as exc:
        pytest.skip(f"this machine cannot bind-mount a folder ({exc})")
    try:
        yield ReadOnly(path)
    finally:
        _umount(path)
