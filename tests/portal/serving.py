"""Running ``creditledger serve`` in a subprocess, as a registrar would, and talking to it with a
real HTTP client (urllib)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

START_TIMEOUT = 60.0


@dataclass
class Served:
    """A running portal: its base URL and process."""

    url: str
    process: subprocess.Popen[str]
    first_lines: list[str]
    errors: IO[str]

    def stderr(self) -> str:
        """What the server has written on standard error so far."""
        return _text(self.errors)

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET", data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of a request (an HTTP error status is returned, not raised).
        Redirects are not followed: a test sees each answer as it is."""
        request = urllib.request.Request(self.url + path, headers=headers or {}, method=method,
                                         data=data)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str, headers: dict[str, str] | None = None) -> Any:
        status, _, body = self.get(path, headers)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextmanager
def serving(ledger: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``creditledger serve LEDGER --port 0 ARGS`` until the block ends; the port it printed."""
    # Standard error goes to a file, not a pipe: a pipe nobody reads fills up and stops the
    # server in the middle of a response.
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed when the server has stopped)
    process = subprocess.Popen(
        [sys.executable, "-m", "creditledger", "serve", str(ledger), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=errors, text=True,
        env={**os.environ, "COLUMNS": "300", **(env or {})})
    try:
        lines = _first_lines(process)
        match = re.search(r"http://[^/ ]+/", "\n".join(lines))
        assert match, (lines, _text(errors))
        served = Served(match.group(0).rstrip("/"), process, lines, errors)
        _wait_until_up(served)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()


def _text(file: IO[str]) -> str:
    file.seek(0)
    return file.read()


def _first_lines(process: subprocess.Popen[str]) -> list[str]:
    """The lines ``serve`` prints up to its address (read in a thread, which goes on reading
    whatever follows so that the pipe never fills: readline cannot time out)."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not done.is_set():
                lines.append(line.strip())
            if "http://" in line:
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(START_TIMEOUT), f"serve printed no address in {START_TIMEOUT}s: {lines}"
    return lines


def _wait_until_up(served: Served) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            served.get("/-/versions.json", {"Authorization": "Bearer none"})
            return
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the portal did not answer"
            time.sleep(0.1)


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``creditledger ARGS``, as the portal's figures are checked against."""
    return subprocess.run([sys.executable, "-m", "creditledger", *(str(a) for a in args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})


def cli_json(*args: str | Path) -> Any:
    result = run_cli(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
