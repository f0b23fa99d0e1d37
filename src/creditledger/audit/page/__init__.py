"""The offline verifier page (``creditledger verifier-page``): one HTML file an employer or a
receiving school opens in a browser to check a transcript bundle, a course certificate or a CLR
without installing anything, and without the page making any network request.

``verifier.html`` is built from ``interop/page/`` (JavaScript, bundled by esbuild with the npm
packages ``interop/package-lock.json`` pins, and the JSON-LD contexts of ``audit/vc/data``) by
``node interop/page/build.mjs``; it is committed, so writing the page needs no Node.js, and a
test rebuilds it and checks the committed file is exactly what the build produces.
"""

from __future__ import annotations

from importlib import resources


def verifier_page() -> bytes:
    """The page's bytes, as built and committed."""
    return resources.files("creditledger.audit.page").joinpath("verifier.html").read_bytes()
