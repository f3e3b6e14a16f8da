# The service's image: the worker by default; the compose file runs the API (`python -m api`)
# and the migration job (`alembic upgrade head`) from the same image.
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

# The code stays root-owned and read-only to the service.
RUN useradd --system --uid 10001 --user-group --no-create-home escalations
USER escalations

EXPOSE 8000
CMD ["python", "-m", "worker"]
