# The store's image: web (gunicorn), Celery worker and beat, the migrate one-off and the demo
# payment gateway all run from it, as the unprivileged user `ipmart`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=ipmart.settings.production IPMART_VAR_DIR=/app/var

RUN useradd --create-home --uid 1000 ipmart

WORKDIR /app
# Locked dependencies first (hashes checked), so code changes reuse this layer.
COPY requirements/main.txt requirements/main.txt
RUN pip install --require-hashes -r requirements/main.txt
COPY . .
RUN pip install --no-deps .
# collectstatic needs importable production settings, not real secrets: throwaway values that
# exist only in this build step (production refuses the repository's development keys).
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    MFA_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build REDIS_URL=redis://build:6379/0 \
    GATEWAY_ENDPOINT=http://build GATEWAY_MERCHANT_ID=build GATEWAY_API_KEY_ID=build \
    GATEWAY_SECRET_API_KEY=build GATEWAY_WEBHOOK_KEY_ID=build GATEWAY_WEBHOOK_SECRET=build \
    GATEWAY_ALLOWED_REDIRECT_HOSTS=build \
    DOCUMENT_KEYS="build:$(python -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')" \
    python manage.py collectstatic --noinput
# The code stays root-owned and read-only to the app; only var/ (media, the private storage
# volume with the document vault and data archives, beat's schedule) is writable. The private
# folders are the app user's alone; a new named volume copies these owners and modes.
RUN mkdir -p /app/var/media /app/var/private/vault /app/var/private/exports \
    && chown -R ipmart:ipmart /app/var && chmod 700 /app/var/private /app/var/private/vault \
    /app/var/private/exports

USER ipmart
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["gunicorn", "ipmart.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4"]
