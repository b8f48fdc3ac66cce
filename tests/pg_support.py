"""A throwaway PostgreSQL cluster for the tests: created in a temp directory, run as a non-root
user (the server refuses root, and CI runs as root), on 127.0.0.1 and a free port."""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ADMIN = "opus"
STUDENT, STUDENT_PASSWORD = "student", "right-horse-battery"
HBA = f"""local all all trust
host all {ADMIN} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian's layout first, then the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgServer:
    """One cluster; `database()` gives each test a fresh, empty database."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.data, self.log = root / "data", root / "log"
        self.port = free_port()
        self._names = itertools.count(1)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True)

    def init(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", ADMIN,
                  "-E", "UTF8", "--no-sync")
        (self.data / "pg_hba.conf").write_text(HBA)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c max_connections=200")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres", user: str = ADMIN, password: str = "") -> str:
        login = f"{user}:{password}" if password else user
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(sql)

    def database(self) -> str:
        """A new empty database; its URL for the admin user."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        self.admin(f"GRANT ALL ON DATABASE {name} TO {STUDENT}")
        self.admin(f"ALTER DATABASE {name} OWNER TO {STUDENT}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A running PostgreSQL for the whole session, stopped and deleted at its end."""
    bin_dir = binaries()
    if bin_dir is None:
        why = "no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but found {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    root = Path(tempfile.mkdtemp(prefix="opus-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bin_dir, root)
    server.init()
    server.start()
    try:
        server.admin(f"CREATE ROLE {STUDENT} LOGIN PASSWORD '{STUDENT_PASSWORD}'")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the test server."""
    return pg_server.database()
