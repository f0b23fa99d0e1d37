"""The registrar's read-only portal (门户管理 · 学分查询 · 统计): the read models served with
Datasette, ``creditledger serve LEDGER``.

Read-only in every layer: the views database is opened ``mode=ro`` with ``query_only`` on every
connection; arbitrary SQL is refused (canned queries only); every method but GET and HEAD is
refused. On loopback by default; any other address needs an access token. No personal field is
shown (:mod:`creditledger.portal.privacy`). The views are caught up on start and followed while
serving. See docs/portal.md.
"""

from __future__ import annotations

from creditledger.portal.server import Portal, build_app, check_exposure, is_loopback

__all__ = ["Portal", "build_app", "check_exposure", "is_loopback"]
