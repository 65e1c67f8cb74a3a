# syntax=docker/dockerfile:1
# One image for `review-bot run` and every other command:
#   docker run --rm -v review-bot-data:/data --env-file .env review-bot            # run
#   docker run --rm -v review-bot-data:/data --env-file .env review-bot cases      # any command
# See docs/deploying.md. Debian bookworm on both stages: its postgresql-client (15) matches the
# postgres:15 server in compose.yaml, so backups (python -m bot.backup) work from this image.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY schedules ./schedules
COPY templates ./templates
RUN python -m venv /opt/review-bot \
 && /opt/review-bot/bin/pip install --no-compile . \
 && /opt/review-bot/bin/python -m compileall -q /opt/review-bot/lib

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 reviewbot \
 && useradd --system --uid 10001 --gid reviewbot --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin reviewbot \
 && mkdir -p /data /app \
 && chown reviewbot:reviewbot /data \
 && chmod 0700 /data
COPY --from=build /opt/review-bot /opt/review-bot
# Every path hangs from DATA_DIR (the volume). Health on all interfaces inside the container: the
# port is only published where compose.yaml says. JSON logs for a collector.
ENV PATH=/opt/review-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080 \
    LOG_FORMAT=json
VOLUME ["/data"]
# Not the data volume: a stray .env there must not be read as settings.
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# Liveness only (/healthz); /readyz (database, tick, mailbox) is for monitoring, not restarts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('HEALTH_PORT') or '8080'), timeout=4)"]
# SIGTERM (docker stop) lets the running tick finish and closes Slack cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["review-bot"]
CMD ["run"]
