# The store's image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=ipmart.settings.production IPMART_VAR_DIR=/app/var

RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 ipmart

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ipmart ipmart
COPY accounts accounts
COPY orders orders
COPY marketing marketing
COPY privacy privacy
COPY support support
RUN pip install .
COPY . .
# collectstatic needs importable settings, not real secrets: build-time placeholders only.
RUN SECRET_KEY=build ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build \
    REDIS_URL=redis://build:6379/0 MFA_ENCRYPTION_KEYS=T6mMslsdSEuBKohd3EUSKkrbJ_FdfmOqSNRxY3ip0aY= \
    GATEWAY_ENDPOINT=http://build GATEWAY_MERCHANT_ID=build GATEWAY_API_KEY_ID=build \
    GATEWAY_SECRET_API_KEY=build GATEWAY_WEBHOOK_KEY_ID=build GATEWAY_WEBHOOK_SECRET=build \
    DOCUMENT_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/vault && chmod 700 /app/var/vault && chown -R ipmart /app/var

USER ipmart
EXPOSE 8000
CMD ["gunicorn", "ipmart.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
