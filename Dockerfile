# logwarden's CLI for docker-compose.yml (the lab for users with Docker). A plain (non-editable)
# install: rules, pipelines, the index template and the dashboards are package data.
FROM python:3.11-slim
WORKDIR /opt/logwarden
COPY pyproject.toml README.md LICENSE ./
COPY logwarden ./logwarden
RUN pip install --no-cache-dir .
ENTRYPOINT ["logwarden"]
