"""The data the package ships beside its code: Sigma rules, pySigma pipelines, the index
template, the Kibana dashboards. Found through `importlib.resources`, so an installed wheel
finds them exactly as a checkout does (never by walking up from `__file__`).

The data is read as files on disk (rules are compiled from paths, dashboards are rebuilt in
place), so a package imported from a zip archive is refused with a clear error.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


class ResourceError(RuntimeError):
    """The package's data is not on a file system (e.g. imported from a zip archive)."""


def data_path(package: str, *parts: str) -> Path:
    """The file-system path of `parts` inside `package` (which need not exist yet).

    Raises:
        ResourceError: the package is not installed as plain files.
    """
    root = resources.files(package)
    if not isinstance(root, Path):
        raise ResourceError(f"{package} is not installed as plain files ({root}); reinstall it with pip")
    return root.joinpath(*parts)


def rules_dir() -> Path:
    """sigma_rules/: the bundled Sigma rules (and their test cases under tests/)."""
    return data_path("logwarden", "sigma_rules")


def sigma_pipeline_dir() -> Path:
    """pipelines/sigma/: the pySigma processing pipelines and the field lists."""
    return data_path("logwarden.pipelines", "sigma")


def dashboards_dir() -> Path:
    """dashboards/: Kibana saved objects (logwarden.ndjson) and their YAML sources (src/)."""
    return data_path("logwarden.dashboards")
