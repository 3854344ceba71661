"""Load the processing pipeline every engine uses: stock `ecs_windows` + the YAML files here.

`load_pipeline()` returns one ProcessingPipeline; `pipeline_digest()` a hash of everything that
shapes compilation (the YAML data and the library versions), used as part of the cache key.
`declared_fields()` lists every field a converted rule may name: the fields of the schema
(logwarden/schema.py, from the sources' fields.yml) and the targets of the pipelines' mappings.
"""

from __future__ import annotations

import copy
import hashlib
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

import yaml

from logwarden import schema
from logwarden.resources import sigma_pipeline_dir

if TYPE_CHECKING:  # pySigma is imported only when compiling (a warm cache never needs it)
    from sigma.processing.pipeline import ProcessingPipeline

HERE = sigma_pipeline_dir()
PIPELINE_FILES = ("windows.yml", "firewall.yml", "antivirus.yml")
CATCH_ALL = "ecs_windows_winlog_eventdata_prefix"


def load_pipeline() -> ProcessingPipeline:
    """Items run in list order (`+` concatenates; priorities only order sigma-cli's resolver), so
    our Windows items come first and win over the stock catch-all."""
    from sigma.pipelines.elasticsearch.windows import ecs_windows
    from sigma.processing.pipeline import ProcessingPipeline

    own = [ProcessingPipeline.from_dict(copy.deepcopy(d)) for d in _own_definitions()]
    pipeline = own[0] + ecs_windows()
    for extra in own[1:]:
        pipeline = pipeline + extra
    return pipeline


@lru_cache(maxsize=1)
def _own_definitions() -> tuple[dict[str, Any], ...]:
    """Our pipeline files, parsed once per process: the compiler builds a fresh pipeline for every
    rule, and parsing the YAML each time was 84 % of compiling SigmaHQ (architecture 58)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(yaml.load((HERE / name).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loaders
                 for name in PIPELINE_FILES)


def pipeline_digest() -> str:
    h = hashlib.sha256()
    for name in (*PIPELINE_FILES, "categories.yml"):
        h.update((HERE / name).read_bytes())
    h.update("\n".join(sorted(schema.sigma_fields())).encode())
    for dist in ("pysigma", "pysigma-backend-elasticsearch"):
        try:
            h.update(metadata.version(dist).encode())
        except metadata.PackageNotFoundError:
            pass
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def declared_fields() -> frozenset[str]:
    from sigma.processing.transformations import FieldMappingTransformation

    known = set(schema.sigma_fields())
    for item in load_pipeline().items:
        if isinstance(item.transformation, FieldMappingTransformation):
            for target in item.transformation.mapping.values():
                targets = target if isinstance(target, list) else [target]
                known.update(str(t) for t in targets)
    return frozenset(f.removesuffix(".caseless") for f in known)


@lru_cache(maxsize=1)
def category_events() -> dict[str, list[tuple[str, str]]]:
    """Sigma category -> [(winlog.channel, event.code)] from categories.yml."""
    data = yaml.safe_load((HERE / "categories.yml").read_text(encoding="utf-8"))
    out: dict[str, list[tuple[str, str]]] = {}
    for channel, cats in data.items():
        for cat, codes in cats.items():
            out.setdefault(cat, []).extend((channel, str(c)) for c in codes)
    return out
