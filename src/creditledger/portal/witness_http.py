"""The witness over HTTP, as C2SP ``tlog-witness`` defines it: ``POST <prefix>/add-checkpoint``.

:func:`witness_server` serves one witness state file: the request body is the add-checkpoint
request (old size line, consistency proof lines, blank line, signed checkpoint); the answer is
the witness's cosignature line (200), or the spec's status for a refusal: 400 malformed or an
old size beyond the checkpoint, 403 not signed by the log's key, 404 a log the witness does not
follow, 409 an old size that is not the witness's latest or another root at its latest size
(body: the latest size and a newline, ``Content-Type: text/x.tlog.size``), 422 a consistency
proof that does not verify. Each request opens the state file and checks and records under
one write lock (``BEGIN IMMEDIATE``), so concurrent requests cannot roll the witness back.

:func:`submit_checkpoint` is the school's side: it sends a ledger's checkpoint to a witness's
URL, asking from the size the witness names when it answers 409, and returns the line.
"""

from __future__ import annotations

import sqlite3
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from creditledger.audit.cosigning import checkpoint_request
from creditledger.audit.witness import AddCheckpoint, Witness
from creditledger.crypto.keys import SigningKey
from creditledger.errors import CreditLedgerError, WitnessConflictError, WitnessError

ADD_CHECKPOINT = "/add-checkpoint"
SIZE_TYPE = "text/x.tlog.size"
MAX_REQUEST = 64 * 1024
"""Bytes: 63 proof lines and a checkpoint with its signatures fit many times over."""
TIMEOUT = 30
"""Seconds a client's connection may stay idle (keep-alive) or a submission may take."""


@dataclass(frozen=True)
class WitnessService:
    """What the server needs: the state file, the witness's key and the URL prefix."""

    state: Path
    key: SigningKey
    prefix: str = ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
    server_version = "creditledger-witness"
    timeout = TIMEOUT
    service: WitnessService  # set on the subclass made by witness_server

    def do_POST(self) -> None:
        if self.path != self.service.prefix + ADD_CHECKPOINT:
            return self._send(404, f"no such endpoint: {self.path}")
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            return self._send(411, "a Content-Length is required")
        if int(length) > MAX_REQUEST:
            return self._send(413, f"a request is at most {MAX_REQUEST} bytes")
        body = self.rfile.read(int(length))
        try:
            request = AddCheckpoint.parse(body.decode("utf-8"))
            with Witness.open(self.service.state, self.service.key) as witness:
                line = witness.add_checkpoint(request)
        except UnicodeDecodeError:
            return self._send(400, "the request is not UTF-8")
        except WitnessConflictError as e:
            return self._send(409, f"{e.latest_size}\n", SIZE_TYPE)
        except WitnessError as e:
            return self._send(e.status, str(e))
        except CreditLedgerError as e:  # the state file went missing or bad under the server
            return self._send(500, f"the witness cannot answer: {e}")
        except sqlite3.OperationalError as e:  # its state file is locked or its disk failing
            return self._send(503, f"the witness cannot answer now: {e}")
        self._send(200, line)

    def do_GET(self) -> None:
        self._send(405, "only POST <prefix>/add-checkpoint", allow="POST")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _send(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8",
              allow: str | None = None) -> None:
        body = text if text.endswith("\n") else text + "\n"
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def witness_server(service: WitnessService, host: str, port: int) -> ThreadingHTTPServer:
    """A server (not yet serving: call ``serve_forever``) answering add-checkpoint requests."""
    handler = type("WitnessHandler", (_Handler,), {"service": service})
    return ThreadingHTTPServer((host, port), handler)


def submit_checkpoint(ledger: str | Path, url: str, old_size: int = 0,
                      checkpoint: str | None = None) -> str:
    """Ask the witness at ``url`` (its submission prefix) to cosign the ledger's checkpoint
    (default: the last recorded); return its cosignature line(s).

    Starts from ``old_size`` (the witness's latest cosigned size, if known); when the witness
    answers 409 with another size, asks once more from that size. Raises :class:`WitnessError`
    with the witness's status and message when it refuses.
    """
    for _ in range(2):
        request = checkpoint_request(ledger, old_size, checkpoint)
        status, content_type, text = _post(url.rstrip("/") + ADD_CHECKPOINT, request.format())
        if status == 200:
            return text
        if status == 409 and content_type == SIZE_TYPE and text.strip().isdigit() \
                and int(text) != old_size:
            old_size = int(text)
            continue
        if status == 409:
            raise WitnessConflictError(
                f"the witness at {url} cosigned another checkpoint at size {text.strip()} "
                "(a split view, or this ledger was cut back)", int(text) if text.strip()
                .isdigit() else old_size, split_view=True)
        raise WitnessError(f"the witness at {url} refuses the checkpoint ({status}): "
                           f"{text.strip()}", status)
    raise WitnessError(f"the witness at {url} keeps naming another latest size", 409)


def _post(url: str, body: str) -> tuple[int, str, str]:
    data = body.encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.headers.get_content_type(), _text(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), _text(e.read())
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise WitnessError(f"cannot reach the witness at {url}: {reason}", 503) from e


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
