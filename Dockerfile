# logwarden's CLI for docker-compose.yml. A plain (non-editable) install: the rules, pipelines, the
# index template and the dashboards (so `logwarden dashboards import` works in the container) are
# package data under logwarden/; tests/compose checks that every path copied here exists.
FROM python:3.11-slim
WORKDIR /opt/logwarden
COPY pyproject.toml README.md LICENSE ./
COPY logwarden ./logwarden
RUN pip install --no-cache-dir . \
    && useradd --uid 1000 --gid 0 --no-create-home --shell /usr/sbin/nologin logwarden \
    && mkdir -p /data && chown 1000:0 /data
# the state and the lab's files live in the `logwarden` volume; a named volume takes this ownership
ENV LOGWARDEN_HOME=/data
USER 1000
WORKDIR /data
ENTRYPOINT ["logwarden"]
