"""Fetch the lab's servers from Maven Central (cached): Apache Kafka jars and the
Elasticsearch integration-test distribution. Maven (`mvn`) does the downloading, so its own
cache (~/.m2) is reused and only Maven Central is contacted.

Errors: a missing tool (Maven, a recent enough Java) is a `ConfigError` (exit 2: install it or
point LOGWARDEN_JAVA_HOME at it); a failed download is a `FetchError`, a `ServerError` (exit 3).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from logwarden.errors import ConfigError, ServerError

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
ES_VERSION = "9.2.0"

KAFKA_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>logwarden.lab</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""


class FetchError(ServerError):
    """Maven could not fetch a server's artifacts (Maven Central unreachable, a failed build)."""


def cache_dir() -> Path:
    base = os.environ.get("LOGWARDEN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "logwarden")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _mvn(args: list[str], cwd: Path) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ConfigError("Maven (`mvn`) is needed to fetch Kafka and Elasticsearch from Maven Central")
    proc = subprocess.run([mvn, "-q", "-B", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        log.error("mvn %s output:\n%s", args[0], (proc.stdout + proc.stderr)[-2000:])
        raise FetchError(f"mvn {args[0]} failed (exit {proc.returncode}); its output is logged above")


def kafka_libs() -> Path:
    """Directory of jars for Kafka (broker + KRaft controller) and a log4j binding."""
    root = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs = root / "libs"
    done = root / ".complete"
    if done.exists():
        return libs
    root.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(KAFKA_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
    tmp = root / "libs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    _mvn(["dependency:copy-dependencies", f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"], root)
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    done.touch()
    return libs


def elasticsearch_home() -> Path:
    """Unpacked Elasticsearch integration-test distribution (read-only template; copied per lab)."""
    root = cache_dir() / f"elasticsearch-{ES_VERSION}"
    home = root / f"elasticsearch-{ES_VERSION}"
    done = root / ".complete"
    if done.exists():
        return home
    root.mkdir(parents=True, exist_ok=True)
    artifact = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
    _mvn(["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={root}"], root)
    archive = root / f"elasticsearch-{ES_VERSION}.zip"
    shutil.rmtree(home, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root)
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    archive.unlink()
    done.touch()
    return home


def find_java(min_major: int) -> str:
    """A `java` binary of at least `min_major`: JAVA_HOME, PATH, then /usr/lib/jvm/*."""
    candidates: list[Path] = []
    for var in ("LOGWARDEN_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "bin" / "java")
    which = shutil.which("java")
    if which:
        candidates.append(Path(which).resolve())
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(jvm.glob("*/bin/java"), reverse=True)
    for java in candidates:
        if java.exists() and java_major(java) >= min_major:
            return str(java)
    raise ConfigError(f"no Java {min_major}+ found (set LOGWARDEN_JAVA_HOME)")


def java_major(java: Path) -> int:
    release = java.resolve().parent.parent / "release"
    text = ""
    if release.exists():
        text = release.read_text(errors="replace")
    if "JAVA_VERSION=" in text:
        version = text.split("JAVA_VERSION=", 1)[1].split("\n", 1)[0].strip().strip('"')
    else:
        proc = subprocess.run([str(java), "-version"], capture_output=True, text=True)
        version = proc.stderr.split('"')[1] if '"' in proc.stderr else "0"
    head = version.split(".")[0]
    if head == "1":
        head = version.split(".")[1]
    try:
        return int(head)
    except ValueError:
        return 0
