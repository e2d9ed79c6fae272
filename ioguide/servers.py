"""Processes that IO Guide's benchmarks, tests and scripts start and watch: a `chroma run` server, the app
server's health check, a process tree's memory, and Debian's chromium for Playwright.

Nothing here imports Streamlit or the rest of the package (only errors.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import StoreUnavailableError

# Debian's chromium, driven by Playwright in the browser test and scripts/first_answer.py (no browser download).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def chroma_executable() -> str:
    """The `chroma` command of this environment (beside the interpreter), else the one on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.exists():
        return str(beside)
    found = shutil.which("chroma")
    if not found:
        raise StoreUnavailableError("The `chroma` command is not installed in this environment (pip install chromadb).")
    return found


@dataclass
class ChromaServer:
    """A `chroma run` server on host:port with its data under path. start() and stop() may be called repeatedly:
    a restart keeps the same URL and data, as an operator restarting the service would."""

    path: Path
    port: int = 0
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.port = self.port or free_port(self.host)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ChromaServer:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = self.path.parent / f"{self.path.name}.chroma.log"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [chroma_executable(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StoreUnavailableError(f"`chroma run` exited with code {self.proc.returncode}; see {self.log}.")
            if self.alive():
                return self
            time.sleep(0.2)
        self.stop()
        raise StoreUnavailableError(f"`chroma run` did not answer on {self.url} within {timeout_s:.0f} s.")

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                return True
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        self.proc = None

    def memory(self) -> dict[str, float]:
        """The server's resident memory now and at its peak, in MB (0 when it is not running)."""
        return process_memory_mb(self.proc.pid) if self.proc is not None and self.proc.poll() is None else \
            {"rss_mb": 0.0, "peak_rss_mb": 0.0}

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name in parentheses may hold spaces: the parent pid is the 2nd field after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _proc_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo += _children(p)
    return out


def process_memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of pid and its children now (psutil when installed, else VmRSS of /proc/PID/status) and
    at its peak (VmHWM, Linux only; else the current figure), in MB."""
    rss = peak = 0.0
    for p in _proc_tree(pid) if Path("/proc").is_dir() else [pid]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        peak += int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    try:
        import psutil

        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
        rss = sum(p.memory_info().rss for p in procs) / 2**20
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess and friends: keep the /proc figures
        pass
    return {"rss_mb": round(rss, 1), "peak_rss_mb": round(max(rss, peak), 1)}


def wait_http(url: str, seconds: float, interval: float = 0.3) -> bool:
    """Poll url until it answers (True) or seconds pass (False)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            time.sleep(interval)
    return False


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminate a server process we started; kill it if it does not exit within grace_s."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
