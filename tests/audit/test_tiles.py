"""publish-tiles (C2SP tlog-tiles) read back by an independent client: Go's
golang.org/x/mod/sumdb/tlog and sumdb/note (Debian's golang-golang-x-mod-dev), built offline."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from creditledger.audit.checkpoints import publish_checkpoint, read_genesis
from creditledger.audit.tiles import tile_path
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import origin_for, vkey
from creditledger.store.ledger import Ledger

from .helpers import cli
from .test_tlog import grow

CLIENT = Path(__file__).parent / "tlogcheck" / "main.go"
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put Go sources


def test_tile_paths_follow_the_spec() -> None:
    assert tile_path(0, 1234067) == "tile/8/0/x001/x234/067"
    assert tile_path(1, 0, 1) == "tile/8/1/000.p/1"
    assert tile_path(2, 1000) == "tile/8/2/x001/000"
    assert tile_path(0, 5, 256) == "tile/8/0/005"


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain (apt-get install golang-go golang-golang-x-mod-dev)")
    out = tmp_path_factory.mktemp("go") / "tlogcheck"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOFLAGS": "",
           "GOPROXY": "off", "GOCACHE": str(out.parent / "cache")}
    built = subprocess.run([go, "build", "-o", str(out), str(CLIENT)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr  # x/mod missing is a failure, not a skip
    return out


def _check(client: Path, directory: Path, key: str, leaves: list[tuple[int, bytes]]
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(client), str(directory), key,
                           *(f"{i}:{h.hex()}" for i, h in leaves)],
                          capture_output=True, text=True, timeout=120)


def test_go_reads_the_tiles_and_verifies_the_head_and_inclusion_proofs(
        tlogcheck: Path, tmp_path: Path) -> None:
    path, root = tmp_path / "log.ledger", SigningKey.generate()
    Ledger.create(path, root).close()
    grow(path, root, 299)
    publish_checkpoint(path, [root])  # 300 events: a full level-0 tile, two partial tiles
    site = tmp_path / "site"
    done = cli("publish-tiles", str(path), str(site))
    assert done.exit_code == 0, done.stderr
    conn = sqlite3.connect(path)
    ledger_id, named = read_genesis(conn)
    key = vkey(origin_for(ledger_id), named)
    hashes = [bytes(h) for (h,) in conn.execute("SELECT hash FROM stored_events ORDER BY position")]
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == [
        "checkpoint", "tile/8/0/000", "tile/8/0/001.p/44", "tile/8/1/000.p/1"]
    picks = [0, 1, 255, 256, 299]
    result = _check(tlogcheck, site, key, [(i, hashes[i]) for i in picks])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("tree 300 ")
    assert [line for line in result.stdout.splitlines()[1:]] == [f"included {i}" for i in picks]
    # the ledger grows; publishing again keeps full tiles byte for byte and adds the new ones
    full = (site / "tile/8/0/000").read_bytes()
    grow(path, root, 700, "u")
    publish_checkpoint(path, [root])
    assert cli("publish-tiles", str(path), str(site)).exit_code == 0
    hashes = [bytes(h) for (h,) in conn.execute("SELECT hash FROM stored_events ORDER BY position")]
    size = int((site / "checkpoint").read_text().split("\n")[1])
    assert size == len(hashes) - 1  # the checkpoint is recorded as the next event
    assert (site / "tile/8/0/000").read_bytes() == full
    later = _check(tlogcheck, site, key, [(i, hashes[i]) for i in (3, 511, 512, size - 1)])
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith(f"tree {size} ")
    # the client is not a rubber stamp: a wrong leaf, a flipped tile, another key all fail
    assert _check(tlogcheck, site, key, [(4, hashes[5])]).returncode == 1
    other = vkey(origin_for(ledger_id), SigningKey.generate().public_key)
    assert "checkpoint" in _check(tlogcheck, site, other, []).stderr
    tile = site / "tile/8/0/001"
    data = bytearray(tile.read_bytes())
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    broken = _check(tlogcheck, site, key, [(300, hashes[300])])
    assert broken.returncode == 1, broken.stdout
    conn.close()


def test_publish_tiles_refuses_what_it_cannot_publish(tmp_path: Path) -> None:
    path, root = tmp_path / "log.ledger", SigningKey.generate()
    Ledger.create(path, root).close()
    no_checkpoint = cli("publish-tiles", str(path), str(tmp_path / "site"))
    assert no_checkpoint.exit_code == 2 and "no checkpoint" in no_checkpoint.stderr
    assert cli("publish-tiles", str(tmp_path / "none.ledger"), str(tmp_path)).exit_code == 2
