"""Provisioning PostgreSQL 15: an embedded ephemeral cluster, an existing DSN, or a container.

The embedded cluster is started with ``postgres`` directly (not ``pg_ctl``) so that the
postmaster stays our child: it is given ``PR_SET_PDEATHSIG = SIGQUIT``, so if the harness
process is killed (even with SIGKILL) the kernel tells the postmaster to shut down at once and
no server is left behind. Its temporary directory is swept by the next run. pytest-postgresql
cannot do this as root (``pg_ctl: cannot be run as root``), which is why this is hand-written.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import conninfo

from harness.config import Settings
from harness.errors import (
    BinariesNotFoundError,
    ConnectError,
    DockerUnavailableError,
    PortInUseError,
    ProvisionError,
)

DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
REQUIRED_MAJOR = 15
_TMP_PREFIX = "harness-pg-"
_PR_SET_PDEATHSIG = 1

TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
    "max_connections": "300",
    "max_locks_per_transaction": "256",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "listen_addresses": "127.0.0.1",
    "jit": "off",
}


@dataclass(frozen=True, slots=True)
class Server:
    """A reachable PostgreSQL server and the superuser/admin DSN to manage it."""

    admin_dsn: str
    kind: str
    version: str = ""

    def dsn(self, dbname: str | None = None, **overrides: str) -> str:
        """The admin DSN pointed at ``dbname`` (and any other overridden parameters)."""
        params: dict[str, str] = dict(overrides)
        if dbname is not None:
            params["dbname"] = dbname
        return conninfo.make_conninfo(self.admin_dsn, **params)


def find_bindir(explicit: str | None = None) -> Path:
    """Locate PostgreSQL 15 server binaries: explicit/HARNESS_PG_BIN, pg_config, Debian path."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            candidates.append(Path(out.stdout.strip()))
    candidates.append(DEFAULT_BINDIR)
    candidates = list(dict.fromkeys(candidates))
    for bindir in candidates:
        if _is_pg15_bindir(bindir):
            return bindir
        if explicit and bindir == Path(explicit):
            break
    checked = ", ".join(str(c) for c in candidates)
    raise BinariesNotFoundError(
        f"no PostgreSQL {REQUIRED_MAJOR} server binaries (initdb, postgres) in: {checked}",
        hint="install postgresql-15 (apt-get install postgresql-15 postgresql-contrib), "
        "set HARNESS_PG_BIN, or use --dsn",
    )


def _is_pg15_bindir(bindir: Path) -> bool:
    postgres = bindir / "postgres"
    if not (postgres.is_file() and (bindir / "initdb").is_file()):
        return False
    try:
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True)
    except OSError:
        return False
    return f" {REQUIRED_MAJOR}." in out.stdout


def connect(dsn: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    """Connect, turning any connection failure into one clear ConnectError."""
    try:
        return psycopg.connect(dsn, connect_timeout=10, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        safe = redact(dsn)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConnectError(
            f"could not connect to {safe}: {first}",
            hint="check that the server is running and the DSN (host, port, user, dbname)",
        ) from exc


def redact(dsn: str) -> str:
    """``dsn`` with its password replaced by ``***`` (for messages and reports)."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if "password" in params:
        params["password"] = "***"
    return conninfo.make_conninfo("", **{k: str(v) for k, v in params.items()})


def server_version(dsn: str) -> str:
    """``server_version`` of the server behind ``dsn``."""
    with connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""


class EmbeddedPostgres:
    """An ephemeral PostgreSQL 15 cluster in a temporary directory, removed on stop."""

    def __init__(
        self,
        bindir: Path,
        *,
        port: int | None = None,
        os_user: str = "postgres",
        settings: dict[str, str] | None = None,
    ) -> None:
        self.bindir = bindir
        self.requested_port = port
        self.os_user = os_user
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.root: Path | None = None
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Server:
        sweep_stale_dirs()
        self._make_root()
        started = time.perf_counter()
        self._initdb()
        self.timings["initdb_s"] = time.perf_counter() - started
        started = time.perf_counter()
        self._start_postmaster()
        self.timings["start_s"] = time.perf_counter() - started
        return Server(admin_dsn=self.admin_dsn, kind="embedded", version=self._version())

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Server:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    @property
    def admin_dsn(self) -> str:
        return conninfo.make_conninfo(
            host=str(self.socket_dir), port=str(self.port), user="postgres", dbname="postgres"
        )

    # -- steps -----------------------------------------------------------------------------
    def _make_root(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        (self.root / "sock").mkdir()
        if os.geteuid() == 0:
            uid, gid = self._uid_gid()
            for path in (self.root, self.root / "sock"):
                os.chown(path, uid, gid)
        self.root.chmod(0o755)

    def _uid_gid(self) -> tuple[int, int]:
        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            raise ProvisionError(
                f"running as root, but the OS user {self.os_user!r} that should run "
                "PostgreSQL does not exist",
                hint="create it (useradd --system postgres) or set HARNESS_OS_USER",
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _run_as(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        uid, gid = self._uid_gid()
        return {"user": uid, "group": gid, "extra_groups": []}

    def _initdb(self) -> None:
        assert self.root is not None
        cmd = [
            str(self.bindir / "initdb"), "-D", str(self.root / "data"), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, **self._run_as())  # type: ignore[call-overload]
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-1:]
            raise ProvisionError(
                f"initdb failed in {self.root}: {' '.join(tail)}",
                hint="check disk space and that the C.UTF-8 locale exists (locale -a)",
            )

    def _choose_port(self) -> int:
        if self.requested_port is not None:
            if not port_is_free(self.requested_port):
                raise PortInUseError(
                    f"port {self.requested_port} on 127.0.0.1 is already in use",
                    hint="choose another --port, or omit it to pick a free one",
                )
            return self.requested_port
        return free_port()

    def _start_postmaster(self) -> None:
        assert self.root is not None
        for _attempt in range(3):
            self.port = self._choose_port()
            if self._spawn_and_wait():
                return
            if self.requested_port is not None or "could not bind" not in self._log_tail():
                break
        raise ProvisionError(
            f"PostgreSQL did not start on port {self.port}: {self._log_tail()}",
            hint=f"see the server log above; binaries from {self.bindir}",
        )

    def _spawn_and_wait(self, timeout: float = 30.0) -> bool:
        assert self.root is not None
        args = [str(self.bindir / "postgres"), "-D", str(self.root / "data"),
                "-p", str(self.port), "-k", str(self.socket_dir)]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent, **self._run_as(),
        )
        log.close()
        deadline = time.monotonic() + timeout
        pidfile = self.root / "data" / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            time.sleep(0.01)
        return False

    def _log_tail(self) -> str:
        assert self.root is not None
        try:
            lines = (self.root / "server.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no server log"
        return " | ".join(lines[-3:]) or "empty server log"

    def _version(self) -> str:
        return server_version(self.admin_dsn)


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGQUIT when the harness dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGQUIT), 0, 0, 0)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sweep_stale_dirs() -> int:
    """Remove temp dirs of embedded clusters whose harness process is gone."""
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{_TMP_PREFIX}*"):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(owner) and not _postmaster_alive(path):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_alive(root: Path) -> bool:
    try:
        pid = int((root / "data" / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    return _pid_alive(pid)


@contextlib.contextmanager
def provision(settings: Settings) -> Iterator[Server]:
    """Yield a Server for the configured mode; embedded and container ones are torn down."""
    if settings.mode == "dsn":
        assert settings.dsn is not None
        yield Server(admin_dsn=settings.dsn, kind="dsn", version=server_version(settings.dsn))
    elif settings.mode == "container":
        with _container() as server:
            yield server
    else:
        extra = {"shared_buffers": settings.shared_buffers}
        with EmbeddedPostgres(
            find_bindir(settings.pg_bin), port=settings.port, os_user=settings.os_user,
            settings=extra,
        ) as server:
            yield server


@contextlib.contextmanager
def _container() -> Iterator[Server]:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError as exc:
        raise DockerUnavailableError(
            "container mode needs the testcontainers package",
            hint='pip install -e ".[test]", or use the embedded mode or --dsn',
        ) from exc
    try:
        container = PostgresContainer("postgres:15", driver=None)
        container.start()
    except Exception as exc:  # docker.errors.DockerException and friends
        raise DockerUnavailableError(
            f"no Docker engine answered ({type(exc).__name__})",
            hint="start Docker, or use the embedded mode (default) or --dsn URL",
        ) from exc
    try:
        dsn = container.get_connection_url()
        yield Server(admin_dsn=dsn, kind="container", version=server_version(dsn))
    finally:
        container.stop()


def create_database(server: Server, name: str, *, template: str = "template0") -> str:
    """Create database ``name`` (UTF-8, C.UTF-8) from ``template``; return its DSN."""
    from psycopg import sql

    stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    if template == "template0":
        stmt = stmt + sql.SQL(" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    with connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(stmt)
    return server.dsn(name)


def drop_database(server: Server, name: str) -> None:
    from psycopg import sql

    with connect(server.admin_dsn, autocommit=True) as conn:
        stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(stmt)
