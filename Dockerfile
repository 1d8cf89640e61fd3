# Labelbot in a small image: the runtime lock only, a non-root user, a health check on readiness (/healthz).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/labelbot && /opt/labelbot/bin/pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY labelbot ./labelbot
RUN /opt/labelbot/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
COPY --from=build /opt/labelbot /opt/labelbot
RUN useradd --system --uid 10001 --home-dir /data --create-home labelbot
USER labelbot
WORKDIR /data
ENV PATH=/opt/labelbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LABELBOT_DATABASE__URL=sqlite+aiosqlite:////data/labelbot.db \
    LABELBOT_WEB__HOST=0.0.0.0 \
    LABELBOT_WEB__PORT=8080
VOLUME ["/data"]
EXPOSE 8080
# Readiness: database, gateway and scheduler. An orchestrator that restarts on failure should probe /livez instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["labelbot", "run"]
