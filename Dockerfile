# The service's image: the worker by default; the compose file runs the API (`python -m api`)
# and the migration job (`alembic upgrade head`) from the same image.

# The pages' assets (GOV.UK Frontend), pinned by package-lock.json; only its build is kept.
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself, without the dev extras. .dockerignore lets in only what runs.
COPY . .
RUN pip install --no-deps . && rm -rf build ./*.egg-info
# Served by the API from the working directory (web/assets.py).
COPY --from=assets /assets/node_modules/govuk-frontend/dist/govuk node_modules/govuk-frontend/dist/govuk
COPY --from=assets /assets/node_modules/accessible-autocomplete/dist node_modules/accessible-autocomplete/dist

# The code stays root-owned and read-only to the service.
RUN useradd --system --uid 10001 --user-group --no-create-home escalations
USER escalations

EXPOSE 8000
CMD ["python", "-m", "worker"]
