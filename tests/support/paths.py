"""Where the tests find things: the checkout (`ROOT`) and the shared test data beside it.

../shared/data holds public EVTX samples and SigmaHQ rules, used in place and never copied. A
user's clone has no ../shared: tests that need it skip with a visible reason there, and fail when
CI=true (CI always has it).

pytest is imported only by `need_shared`, so that bench/ can use `tests.support.cli` (which
needs `ROOT`) without depending on pytest.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_shared(sub: str = "") -> Path:
    """The path `sub` under ../shared/data.

    Raises pytest's skip outcome when it is missing, or its fail outcome when CI=true.
    """
    import pytest

    path = SHARED_DATA / sub
    if not path.exists():
        msg = f"needs the shared test data at {path} (not part of a user's clone)"
        if IN_CI:
            pytest.fail(msg + " -- CI always has it, so this is an error", pytrace=False)
        pytest.skip(msg)
    return path
