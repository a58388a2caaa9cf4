"""A throwaway PostgreSQL server on loopback, for tests that need Airflow on a real metadata database.

Uses the distribution's server binaries (Debian's ``postgresql`` package, installed with apt-get when
missing and we are root). PostgreSQL refuses to run as root, so as root the data directory belongs to
the ``postgres`` system user (which the package creates) and the server runs as that user via
``runuser``. The cluster lives in a temp directory, listens on 127.0.0.1 on a free port with trust
authentication (loopback only), and is deleted by :meth:`PostgresServer.stop`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, and they could not be installed here."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres: Debian's versioned dir first, then PATH."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True):
        if all(os.access(Path(candidate, b), os.X_OK) for b in BINARIES):
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and all(shutil.which(b) for b in BINARIES):
        return Path(os.path.realpath(initdb)).parent
    return None


def ensure_installed(timeout: float = 600) -> Path:
    """Return the server's bin directory, installing Debian's ``postgresql`` package if needed.

    Runs ``apt-get update`` then ``apt-get install -y postgresql`` non-interactively (no stdin, as
    CI runs it). Raises :class:`PostgresUnavailable` when that is impossible (not root, no apt).
    """
    bindir = find_bindir()
    if bindir:
        return bindir
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed and cannot be installed here (needs root and apt-get); install the 'postgresql' package"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    bindir = find_bindir()
    if not bindir:
        raise PostgresUnavailable("apt-get installed 'postgresql' but no initdb/pg_ctl/postgres were found under /usr/lib/postgresql/*/bin")
    return bindir


class PostgresServer:
    """``with PostgresServer() as pg: pg.url`` — a fresh cluster with database ``airflow``, user ``airflow``."""

    def __init__(self, database: str = "airflow", user: str = "airflow") -> None:
        self.database, self.user = database, user
        self.bindir = ensure_installed()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-faults-"))
        self.datadir = self.root / "data"
        self.sockdir = self.root / "sock"
        self.logfile = self.root / "postgres.log"
        self._run_as: str | None = None
        if os.geteuid() == 0:
            self._run_as = _system_user()
            os.chmod(self.root, 0o755)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg2; Airflow derives asyncpg from it), as Airflow's ``[database] sql_alchemy_conn`` wants it."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.database}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self._run_as, "--", *args] if self._run_as else list(args)

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(self._cmd(*args), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}")

    def start(self) -> PostgresServer:
        self.sockdir.mkdir()
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            for path in (self.root, self.sockdir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start")
        self._run(
            str(self.bindir / "psql") if (self.bindir / "psql").exists() else "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-c",
            f'CREATE DATABASE "{self.database}"',
        )
        return self

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                _kill_postmaster(self.datadir)
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on port {self.port} is not accepting connections; log {self.logfile}")

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _system_user() -> str:
    for name in ("postgres",):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and there is no 'postgres' system user to run the server as (the Debian package creates it)")


def _kill_postmaster(datadir: Path) -> None:
    try:
        pid = int((datadir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 9)
    except (OSError, ValueError, IndexError):
        pass
