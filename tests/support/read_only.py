"""A folder that refuses writes, for the tests of what happens when a file cannot be moved or
written beside it (a read-only state folder: EACCES).

`chmod 555` does not stop root: CAP_DAC_OVERRIDE and CAP_FOWNER bypass file modes. So as root
the code under test runs in a child process started through util-linux `setpriv` with those
capabilities out of its bounding set: the child is still uid 0 and still owns the folder, but
its mode binds it, as it binds any other user. As another user, nothing is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BYPASSING = "-dac_override,-dac_read_search,-fowner,-linux_immutable"  # capabilities that ignore file modes


def bound_by_modes() -> list[str]:
    """The command prefix under which a child process is bound by file modes: [] when this
    process is not root, else `setpriv` without the capabilities that bypass them (checked once
    on a folder of its own). Skips the test, with the reason, when root has no way to drop them."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: chmod cannot make a folder read-only for root "
                    "(the same code path is tested with a fake that raises PermissionError)")
    prefix = [setpriv, f"--bounding-set={BYPASSING}"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "read-only"
        folder.mkdir(mode=0o555)
        try:
            probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"],
                                   capture_output=True, text=True, timeout=60)
        finally:
            folder.chmod(0o755)
    if probe.returncode == 0:
        pytest.skip("running as root and setpriv did not drop the capabilities that bypass file modes (a folder "
                    "of mode 555 took a new file): the same code path is tested with a fake PermissionError")
    assert "Permission denied" in probe.stderr, probe.stderr[-1000:]
    return prefix
