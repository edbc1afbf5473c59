"""Provisioning: embedded cluster, DSN mode, container mode without Docker, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from harness.config import Settings
from harness.errors import (
    BinariesNotFoundError,
    ConnectError,
    DockerUnavailableError,
    PortInUseError,
)
from harness.postgres import (
    EmbeddedPostgres,
    Server,
    connect,
    create_database,
    find_bindir,
    free_port,
    provision,
    sweep_stale_dirs,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); look at its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_embedded_cluster_settings(harness_server: Server) -> None:
    if harness_server.kind != "embedded":
        pytest.skip("this session uses --harness-dsn; the embedded cluster is tested elsewhere")
    with connect(harness_server.admin_dsn) as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN"
            " ('fsync', 'lc_ctype', 'shared_preload_libraries', 'server_encoding',"
            " 'listen_addresses', 'server_version_num')").fetchall())
    assert settings["fsync"] == "off"
    assert settings["lc_ctype"] == "C.UTF-8"
    assert settings["server_encoding"] == "UTF8"
    assert "pg_stat_statements" in settings["shared_preload_libraries"]
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["server_version_num"].startswith("15")


def test_embedded_start_stop_leaves_nothing() -> None:
    pg = EmbeddedPostgres(find_bindir())
    server = pg.start()
    assert pg.process is not None and pg.root is not None
    pid, root = pg.process.pid, pg.root
    owner = Path(f"/proc/{pid}/status").read_text()
    if os.geteuid() == 0:
        uid_line = next(line for line in owner.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1] != "0", "PostgreSQL must not run as root"
    with psycopg.connect(server.admin_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    print(f"\ninitdb {pg.timings['initdb_s']:.3f} s, start {pg.timings['start_s']:.3f} s")
    pg.stop()
    assert _wait_dead(pid) and not root.exists()


def _spawn_holder(tmp_path: Path) -> tuple[subprocess.Popen[str], int, Path]:
    # Ctrl-C as at a terminal: a process started in the background by a shell without job
    # control inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    code = textwrap.dedent("""
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from harness.postgres import EmbeddedPostgres, find_bindir
        pg = EmbeddedPostgres(find_bindir())
        with pg:
            print(pg.process.pid, pg.root, flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid_text, root = proc.stdout.readline().split()
    return proc, int(pid_text), Path(root)


def test_killed_harness_leaves_no_server(tmp_path: Path) -> None:
    proc, postmaster, root = _spawn_holder(tmp_path)
    assert _alive(postmaster)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_dead(postmaster), "postmaster survived SIGKILL of the harness"
    assert sweep_stale_dirs() >= 1
    assert not root.exists()


def test_ctrl_c_stops_and_removes_cluster(tmp_path: Path) -> None:
    proc, postmaster, root = _spawn_holder(tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert _wait_dead(postmaster)
    assert not root.exists()


def test_missing_binaries_error(tmp_path: Path) -> None:
    with pytest.raises(BinariesNotFoundError, match=str(tmp_path)):
        find_bindir(str(tmp_path))


def test_port_in_use_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port}"):
            EmbeddedPostgres(find_bindir(), port=port).__enter__()


def test_dsn_mode_uses_existing_server_and_leaves_it_running(harness_server: Server) -> None:
    settings = Settings(mode="dsn", dsn=harness_server.admin_dsn)
    with provision(settings) as server:
        assert server.kind == "dsn" and server.version.startswith("15")
    with connect(harness_server.admin_dsn) as conn:  # still up
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unreachable_dsn_is_one_clear_error() -> None:
    dsn = f"host=127.0.0.1 port={free_port()} dbname=nowhere user=x password=secret"
    with pytest.raises(ConnectError) as info:
        with provision(Settings(mode="dsn", dsn=dsn)):
            pass
    message = str(info.value)
    assert "could not connect" in message and "secret" not in message
    assert "\n" not in message


def test_container_mode_without_docker_says_what_to_do() -> None:
    if Path("/var/run/docker.sock").exists():
        pytest.skip("a Docker engine socket exists here; the no-engine path cannot be shown")
    started = time.monotonic()
    with pytest.raises(DockerUnavailableError, match="no Docker engine.*embedded"):
        with provision(Settings(mode="container")):
            pass
    assert time.monotonic() - started < 10


def test_template_clone(harness_server: Server, harness_template: str) -> None:
    started = time.perf_counter()
    dsn = create_database(harness_server, f"clone_{os.getpid()}", template=harness_template)
    elapsed = time.perf_counter() - started
    print(f"\ntemplate clone {elapsed * 1000:.0f} ms")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM flyway_schema_history").fetchone()
    assert row is not None and row[0] >= 2
    from harness.postgres import drop_database

    drop_database(harness_server, f"clone_{os.getpid()}")
