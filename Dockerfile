# logwarden's CLI for docker-compose.yml (the lab for users with Docker).
FROM python:3.11-slim
WORKDIR /opt/logwarden
COPY pyproject.toml README.md ./
COPY logwarden ./logwarden
RUN pip install --no-cache-dir  .
ENTRYPOINT ["logwarden"]
