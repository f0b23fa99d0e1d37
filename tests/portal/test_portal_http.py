"""``creditledger serve`` against a real HTTP client: the portal's figures are the CLI's, it
refuses every write, asks for its token when it has one, shows no personal field, and follows
the ledger while serving."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from creditledger.domain import LearnerType, PersonalData
from creditledger.services import CreditBank
from tests.cli.running import assert_unusable
from tests.portal.conftest import demo_kek, gzcc_key
from tests.portal.serving import Served, cli_json, run_cli, serving

DB = "/creditledger"
LEARNER = "GZCC-2021-0001"
NAMES = ("陈晓敏", "黄志强", "王海涛")  # the demo's learners' names: personal data
TOKEN = "registrar-token-0123456789"


@pytest.fixture(scope="module")
def portal(demo_ledger: Path) -> Iterator[Served]:
    with serving(demo_ledger) as served:
        yield served


def canned(portal: Served, query: str, **params: str) -> list[dict[str, object]]:
    args = "".join(f"&{k}={quote(v)}" for k, v in params.items())
    rows: list[dict[str, object]] = portal.json(f"{DB}/{query}.json?_shape=array{args}")
    return rows


def test_a_learners_balances_and_transcript_are_the_clis(portal: Served, demo_ledger: Path
                                                         ) -> None:
    cli = {r["account"].removeprefix("category/"): r["credits"]
           for r in cli_json("balances", demo_ledger, "--learner", LEARNER)
           if r["account"].startswith("category/")}
    served = {r["category"]: r["credits"] for r in canned(portal, "learner_balances",
                                                          learner_id=LEARNER)}
    assert served == cli and any(v != "0.00" for v in cli.values())
    learner = "SOC-2022-0031"  # a member of society: conversions and an exemption too
    keys = ("position", "entry", "title", "credits", "detail")
    cli_lines = [{k: r[k] for k in keys} for r in cli_json("transcript", demo_ledger,
                                                           "--learner", learner)]
    served_lines = [{k: r[k] for k in keys} for r in canned(portal, "learner_transcript",
                                                            learner_id=learner)]
    assert served_lines == cli_lines
    assert {line["entry"] for line in served_lines} >= {"recognised", "exempted (免修)"}
    assert canned(portal, "learner_balances", learner_id="NO-SUCH-LEARNER") == []


def test_statistics_quotas_and_the_alliance_report_are_the_clis(portal: Served,
                                                                demo_ledger: Path) -> None:
    stats = cli_json("stats", demo_ledger, "--by", "category")
    served = canned(portal, "credits_per_category", institution="")
    assert [(r["category"], r["achievements"], r["revoked"], r["credits"]) for r in served] == \
        [(r["category"], r["achievements"], r["revoked"], r["credits"]) for r in stats]
    quotas = cli_json("stats", demo_ledger, "--quotas", "2022")
    served = canned(portal, "quota_completion", year="2022")
    assert [(r["major"], r["quota"], r["sat"], r["completion"], bool(r["met"])) for r in served] \
        == [(r["major"], r["quota"], r["sat"], r["completion"], r["met"]) for r in quotas]
    assert {(r["major"], r["sat"], r["completion"]) for r in served} == {
        ("会计", 2, "100.0"), ("财务管理", 0, "0.0")}
    rates = cli_json("stats", demo_ledger, "--certificates")
    served = canned(portal, "pass_rates")
    assert [(r["passed"], r["candidates"], r["pass_rate"]) for r in served] == \
        [(r["passed"], r["candidates"], r["pass_rate_%"]) for r in rates] == [(2, 3, "66.7")]
    report = cli_json("alliance-report", demo_ledger, "--by", "school", "--month", "2022-09")
    served = canned(portal, "alliance_report", month="2022-09")
    assert served == report and report


def test_tables_facet_and_download_as_csv_and_json(portal: Served) -> None:
    accounts = portal.json(f"{DB}/accounts.json?_shape=array&_size=max")
    assert {a["learner_id"] for a in accounts} >= {LEARNER, "SOC-2022-0031"}
    page = portal.json(f"{DB}/achievements.json")
    assert {"kind", "category", "status", "certified_by"} <= set(page["facet_results"])
    kinds = {f["value"]: f["count"] for f in page["facet_results"]["kind"]["results"]}
    assert kinds["course_result"] > 0
    status, headers, body = portal.get(f"{DB}/transfers.csv?_size=max")
    assert status == 200 and headers["content-type"].split(";")[0] in ("text/plain", "text/csv")
    header = body.decode().splitlines()[0]
    assert "source_achievement_id" in header and "rule_id" in header
    lineage = canned(portal, "transfer_lineage", learner_id="")
    assert lineage and all(r["source_title"] for r in lineage)
    status, _, charts = portal.get("/-/charts")
    assert status == 200 and b'id="credits-by-category"' in charts
    assert "专业核心 major_core".encode() in charts and b"66.7%" in charts


def test_every_write_and_arbitrary_sql_is_refused(portal: Served) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/", DB, f"{DB}/accounts", f"{DB}/learner_balances?learner_id=x"):
        assert portal.get(path, form, method="POST", data=b"x=1")[0] == 405, path
    assert portal.get(f"{DB}/accounts", method="DELETE")[0] == 405
    assert portal.get(f"{DB}.json?sql={quote('select 1')}")[0] == 403  # canned queries only
    for sql in ("delete from accounts", "update balances set credits_cents=0"):
        assert portal.get(f"{DB}.json?sql={quote(sql)}")[0] in (400, 403), sql
    assert portal.get(f"{DB}.db")[0] == 403  # no download of the database file itself
    assert len(portal.json(f"{DB}/accounts.json?_shape=array&_size=max")) >= 6


def test_no_personal_field_on_any_page(portal: Served) -> None:
    pages = ["/", DB, "/-/charts", "/-/metadata.json"]
    tables = portal.json(f"{DB}.json")["tables"]
    pages += [f"{DB}/{t['name']}.json?_size=max" for t in tables]
    pages += [f"{DB}/{t['name']}.csv?_size=max" for t in tables if not t["hidden"]]
    for path in pages:
        status, _, body = portal.get(path)
        assert status in (200, 403), path
        text = body.decode()
        assert not any(name in text for name in NAMES), path


def test_a_token_is_required_when_one_is_set(demo_ledger: Path) -> None:
    with serving(demo_ledger, "--token-env", "PORTAL_TOKEN",
                 env={"PORTAL_TOKEN": TOKEN}) as portal:
        assert "access token required" in portal.first_lines[-1]
        for path in ("/", f"{DB}/accounts.json", f"{DB}/learner_balances.json?learner_id=x",
                     "/-/charts"):
            assert portal.get(path)[0] == 401, path
            assert portal.get(path, {"Authorization": "Bearer wrong-token-0123456789"})[0] \
                == 401
            assert portal.get(path, {"Authorization": f"Bearer {TOKEN}"})[0] == 200, path
        wrong = portal.get("/-/login", method="POST", data=b"token=nope")
        assert wrong[0] == 401
        status, headers, _ = portal.get("/-/login", method="POST",
                                        data=f"token={TOKEN}".encode())
        assert status == 303 and TOKEN not in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        assert portal.get(f"{DB}/accounts.json", {"Cookie": cookie})[0] == 200
        assert portal.get(f"{DB}/accounts.json", {"Cookie": cookie + "x"})[0] == 401


@pytest.mark.parametrize(("args", "env", "words"), [
    (["--host", "0.0.0.0"], {}, ["0.0.0.0", "access token"]),
    (["--host", "0.0.0.0", "--token", "short"], {}, ["16 characters"]),
    (["--token-env", "NO_SUCH_VARIABLE_19"], {}, ["NO_SUCH_VARIABLE_19"]),
    (["--token", TOKEN, "--token-env", "X"], {}, ["not both"]),
    (["--port", "70000"], {}, ["cannot listen"]),
])
def test_refused_starts_are_one_line_errors(demo_ledger: Path, args: list[str],
                                            env: dict[str, str], words: list[str]) -> None:
    assert_unusable(run_cli("serve", demo_ledger, *args), *words)


def test_an_unknown_ledger_is_a_one_line_error(tmp_path: Path) -> None:
    assert_unusable(run_cli("serve", tmp_path / "none.ledger"))


def test_a_port_in_use_is_a_one_line_error(portal: Served, demo_ledger: Path) -> None:
    port = portal.url.rsplit(":", 1)[1]
    assert_unusable(run_cli("serve", demo_ledger, "--port", port), "cannot listen", port)


def test_personal_columns_are_withheld(own_ledger: Path) -> None:
    """A views database that carries a name (as one built with personal data asked for may):
    the table is refused, and served as a public view without the column."""
    assert run_cli("views", own_ledger).returncode == 0
    views = own_ledger.with_name("creditledger-demo.views.db")
    with sqlite3.connect(views) as db:
        db.execute("ALTER TABLE accounts ADD COLUMN name TEXT")
        db.execute("UPDATE accounts SET name = '陈晓敏'")
    db.close()
    with serving(own_ledger) as portal:
        assert "withheld for personal columns: accounts" in portal.first_lines[0]
        for path in ("accounts.json", "accounts.csv", "accounts"):
            assert portal.get(f"{DB}/{path}")[0] == 403
        public = portal.json(f"{DB}/accounts_public.json?_shape=array&_size=max")
        assert len(public) >= 6 and all("name" not in row for row in public)
        assert "陈晓敏" not in portal.get(f"{DB}/accounts_public.csv?_size=max")[2].decode()
        listing = portal.json(f"{DB}.json")
        assert "accounts" not in {t["name"] for t in listing["tables"]}
        assert "accounts_public" in json.dumps(listing["views"])


def test_a_record_committed_while_serving_appears(own_ledger: Path) -> None:
    with serving(own_ledger) as portal:
        assert not portal.json(f"{DB}/accounts.json?_shape=array&learner_id=GZCC-2026-0419")
        _open_account(own_ledger, "GZCC-2026-0419")
        deadline = time.monotonic() + 20
        while not portal.json(f"{DB}/accounts.json?_shape=array&learner_id=GZCC-2026-0419"):
            assert time.monotonic() < deadline, ("the new learner never appeared",
                                                 portal.stderr())
            time.sleep(0.2)
        balances = portal.json(f"{DB}/learner_balances.json?_shape=array"
                               "&learner_id=GZCC-2026-0419")
        assert [b["credits"] for b in balances] == ["0.00"] * 4


def _open_account(ledger: Path, learner: str) -> None:
    bank = CreditBank.open(str(ledger), kek=demo_kek(ledger))
    try:
        bank.open_account(learner_id=learner, learner_type=LearnerType.STUDENT,
                          personal_data=PersonalData(name="李新"), programme_code="530302",
                          signer=gzcc_key(ledger))
    finally:
        bank.close()
