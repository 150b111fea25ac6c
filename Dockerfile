# The application image (web, worker, scheduler, actions). The Rasa server uses the
# official rasa/rasa:3.6.21 image (see docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /app vam && mkdir -p /data/media && chown -R vam /data
USER vam
ENV APP_ENV=production MEDIA_ROOT=/data/media PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "flask --app wsgi init-db && exec gunicorn --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-4} --threads 4 --access-logfile - wsgi:app"]
