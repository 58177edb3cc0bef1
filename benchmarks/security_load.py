"""Resource use of the real server under the issue-12 load steps: 40 concurrent logins with
the server's own argon2id settings (64 MiB each), a normal read meanwhile, and a 200 MB
anonymous request. Starts ``thecal serve --demo`` on a fresh SQLite file (127.0.0.1) and reads
the server's memory from ``/proc``. Prints one JSON object.

    .venv/bin/python benchmarks/security_load.py
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":", 1)
            values[name] = round(int(amount.split()[0]) / 1024, 1)
    return values


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"),
                   THECAL_CHAIN_KEY_FILE=str(Path(folder) / "chain.key"))
        cmd = [sys.executable, "-m", "thecal", "serve", "--demo", "--database",
               f"sqlite:///{Path(folder) / 'db.sqlite3'}", "--port", str(port)]
        log = Path(folder) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        report: dict[str, Any] = {}
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(base + "/login", timeout=2)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log.read_text()) from None
                    time.sleep(0.3)
            token = httpx.post(base + "/api/v1/token", json={
                "username": "demo-nurse", "password": "demo-nurse-pass-2026"}).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            idle = [httpx.get(base + "/api/v1/me", headers=auth).elapsed.total_seconds()
                    for _ in range(10)]
            report["rss_after_start_mib"] = _rss_mib(proc.pid)
            statuses: list[int] = []
            reads: list[float] = []
            done = threading.Event()

            def log_in(i: int) -> None:
                # distinct sources are impossible from one host: use distinct accounts' names
                r = httpx.post(base + "/api/v1/token", timeout=60, json={
                    "username": "demo-clinician", "password": "demo-clinician-2026"})
                statuses.append(r.status_code)

            def read_meanwhile() -> None:
                while not done.is_set():
                    reads.append(httpx.get(base + "/api/v1/me", headers=auth, timeout=60)
                                 .elapsed.total_seconds())

            reader = threading.Thread(target=read_meanwhile)
            reader.start()
            started = time.perf_counter()
            threads = [threading.Thread(target=log_in, args=(i,)) for i in range(40)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.set()
            reader.join()
            report["forty_concurrent_logins"] = {
                "seconds": round(time.perf_counter() - started, 2),
                "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
                "rss_mib": _rss_mib(proc.pid),
                "read_ms_idle_median": round(statistics.median(idle) * 1000, 1),
                "read_ms_during_median": round(statistics.median(reads) * 1000, 1)
                if reads else None,
                "read_ms_during_max": round(max(reads) * 1000, 1) if reads else None}

            def body() -> Iterator[bytes]:
                for _ in range(200):
                    yield b"x" * 1_000_000

            try:
                big = httpx.post(base + "/api/v1/login", content=body(), timeout=60,
                                 headers={"Content-Type": "application/json"})
                big_status: Any = big.status_code
            except httpx.HTTPError as exc:  # the server may close the connection after 413
                big_status = f"connection closed ({type(exc).__name__})"
            report["anonymous_200_mb_request"] = {"status": big_status,
                                                  "rss_mib": _rss_mib(proc.pid)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
