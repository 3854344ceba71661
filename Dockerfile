# logwarden's CLI for docker-compose.yml (the lab for users with Docker).
FROM python:3.11-slim
WORKDIR /opt/logwarden
COPY pyproject.toml setup.py README.md ./
COPY logwarden ./logwarden
COPY shippers ./shippers
COPY pipelines ./pipelines
COPY sigma_rules ./sigma_rules
RUN pip install --no-cache-dir -e .
ENTRYPOINT ["logwarden"]
