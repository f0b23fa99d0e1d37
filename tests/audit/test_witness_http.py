"""The witness over HTTP (C2SP tlog-witness ``POST /add-checkpoint``): ``creditledger witness
serve`` runs in a subprocess as a witness operator would run it, and is asked by ``witness
submit`` and by plain HTTP requests; every refusal has the spec's status code."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from creditledger.audit.cosigning import checkpoint_request
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import SignedNote
from tests.audit.helpers import PASSPHRASE, cli
from tests.audit.test_witness import Fork, forked  # noqa: F401 (the fixture)

ENV = {"CREDITLEDGER_PASSPHRASE": PASSPHRASE}


@dataclass
class Served:
    url: str
    vkey: str
    process: subprocess.Popen[str]


@pytest.fixture
def served(forked: Fork, tmp_path: Path) -> Iterator[Served]:  # noqa: F811
    """A witness following the forked bank's ledger, served on a free loopback port."""
    key = tmp_path / "w.pem"
    SigningKey.generate().save(key, PASSPHRASE.encode())
    state = tmp_path / "w.db"
    made = cli("witness", "init", str(state), "--name", "w.example", "--key", str(key), env=ENV)
    assert made.exit_code == 0, made.stderr
    origin = SignedNote.parse(forked.note).checkpoint().origin
    assert cli("witness", "follow", str(state), "--ledger-id", origin, "--log-key",
               str(forked.bank.root_pub), "--key", str(key), env=ENV).exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "creditledger", "witness", "serve", str(state), "--key", str(key),
         "--port", "0", "--prefix", "/w"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV})
    assert process.stderr is not None
    first = process.stderr.readline()
    assert "listening on http://127.0.0.1:" in first, first
    url = first.split("listening on ")[1].strip().removesuffix("/add-checkpoint")
    try:
        yield Served(url, made.stdout.strip(), process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(url: str, body: bytes, method: str = "POST") -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def test_submit_gets_a_cosignature_that_verify_bundle_counts(
        served: Served, forked: Fork, tmp_path: Path) -> None:  # noqa: F811
    bank = forked.bank
    out = tmp_path / "cosig.txt"
    result = cli("witness", "submit", str(bank.path), "--url", served.url, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith("\u2014 w.example ")
    note, cosigned = tmp_path / "cp", tmp_path / "cp.cosigned"
    note.write_text(forked.note)
    assert cli("witness", "attach", str(note), str(out), "-o", str(cosigned)).exit_code == 0
    bundle = tmp_path / "b.json"
    assert cli("prove", str(bank.path), "--learner", "S1", "--checkpoint", str(cosigned),
               "-o", str(bundle)).exit_code == 0
    checked = cli("verify-bundle", str(bundle), "--root-key", str(bank.root_pub), "--witness",
                  served.vkey, "--max-age", "1h")
    assert checked.exit_code in (0, 3), checked.stdout  # 3: complete not proven (old bundle)
    assert "cosigned by witnesses w.example" in checked.stdout
    # asked again from size 0: the witness answers 409 with its latest size, submit asks again
    again = cli("witness", "submit", str(bank.path), "--url", served.url)
    assert again.exit_code == 0 and again.stdout.startswith("\u2014 w.example ")


def test_a_request_from_another_size_is_409_with_the_latest_size(
        served: Served, forked: Fork) -> None:  # noqa: F811
    size = int(forked.note.split("\n")[1])
    first = checkpoint_request(forked.bank.path, 0).format().encode()
    assert post(served.url + "/add-checkpoint", first)[0] == 200
    status, content_type, body = post(served.url + "/add-checkpoint", first)
    assert (status, content_type, body) == (409, "text/x.tlog.size", f"{size}\n")


def test_a_split_view_is_refused_over_http_and_by_submit(
        served: Served, forked: Fork, tmp_path: Path) -> None:  # noqa: F811
    assert cli("witness", "submit", str(forked.bank.path), "--url", served.url).exit_code == 0
    fork_note = tmp_path / "fork.note"
    fork_note.write_text(forked.fork_note)
    refused = cli("witness", "submit", str(forked.fork), "--url", served.url,
                  "--checkpoint", str(fork_note))
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "split view" in refused.stderr and "Traceback" not in refused.stderr
    size = int(forked.note.split("\n")[1])
    fork_request = checkpoint_request(forked.fork, size, forked.fork_note).format().encode()
    assert post(served.url + "/add-checkpoint", fork_request)[:2] == (409, "text/x.tlog.size")


def test_each_refusal_has_the_specs_status(
        served: Served, forked: Fork, tmp_path: Path) -> None:  # noqa: F811
    url = served.url + "/add-checkpoint"
    good = checkpoint_request(forked.bank.path, 0).format()
    assert post(url, b"old 1\n\nnot a checkpoint\n")[0] == 400
    assert post(url, "\xff".encode("latin-1"))[0] == 400
    size = int(forked.note.split("\n")[1])
    assert post(url, good.replace("old 0", f"old {size + 1}", 1).encode())[0] == 400
    stranger = SignedNote.parse(forked.note)
    sig = stranger.signatures[0]  # the log key's signature line, its signature zeroed
    zeroed = base64.b64encode(sig.key_hash + bytes(64)).decode()
    forged = good.replace(sig.line(), f"\u2014 {sig.name} {zeroed}\n")
    assert post(url, forged.encode())[0] == 403
    other_origin = good.replace(stranger.checkpoint().origin, "creditledger.example/other")
    assert post(url, other_origin.encode())[0] == 404
    assert post(served.url + "/nothing", good.encode())[0] == 404
    assert post(url, b"", method="GET")[0] == 405
    # a consistency proof that does not verify: 422 (the witness is now at this size, where
    # the only proof is the empty one)
    assert post(url, good.encode())[0] == 200
    bogus = good.replace("old 0\n", f"old {size}\n{base64.b64encode(bytes(32)).decode()}\n", 1)
    assert post(url, bogus.encode())[0] == 422


def test_non_ascii_digits_are_not_sizes_or_lengths(served: Served, forked: Fork) -> None:  # noqa: F811
    """'²' and '٣' are digits to str.isdigit but not sizes: refused as malformed, never a
    crash of the handler (which would leave the client without an answer)."""
    import http.client
    from urllib.parse import urlsplit

    good = checkpoint_request(forked.bank.path, 0).format()
    assert post(served.url + "/add-checkpoint", good.replace("old 0", "old \u0663", 1)
                .encode())[0] == 400
    where = urlsplit(served.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    conn.putrequest("POST", where.path + "/add-checkpoint")
    conn.putheader("Content-Length", "\u00b2")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
