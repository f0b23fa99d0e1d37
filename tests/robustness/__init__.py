"""Robustness: concurrent writer processes, kill -9 in the middle of an import, a lost server.

Every test here runs against real backends (a SQLite file and the PostgreSQL test server), with
real OS processes, real keys and real signatures.
"""
