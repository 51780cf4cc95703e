# syntax=docker/dockerfile:1
# One image for every Python service of docker-compose.yml (daphne, Celery worker and beat,
# migrate); each service gives its own command. Multi-stage: pip and any compiler stay in the
# build stages, the final stages hold the virtual environment, the code and the static files,
# and run as an unprivileged user. Nothing secret is baked in: configuration comes from the
# environment at run time (.env, see .env.example).
#
#   docker build -t smile .                    # the CPU image (target "app", the default)
#   docker build --target gpu -t smile:gpu .   # TensorFlow with CUDA, for `--profile gpu`

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Build: the virtual environment, from the pinned requirements --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
COPY requirements.txt constraints.txt /tmp/requirements/
RUN pip install -c /tmp/requirements/constraints.txt -r /tmp/requirements/requirements.txt

# The same environment with TensorFlow built for NVIDIA GPUs instead of tensorflow-cpu
# (same version; its CUDA libraries come pinned by TensorFlow's "and-cuda" extra).
FROM build AS build-gpu
COPY requirements-gpu.txt /tmp/requirements/
RUN pip uninstall -y tensorflow-cpu \
    && pip install -c /tmp/requirements/constraints.txt -r /tmp/requirements/requirements-gpu.txt

# --- Runtime base: no compilers, no pip cache, an unprivileged user --------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SMILE_DEBUG=0
RUN groupadd --system --gid 10001 smile \
    && useradd --system --uid 10001 --gid smile --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin smile \
    && mkdir -p /srv/static \
    && chown smile:smile /srv/static
# /srv/static: the migrate service's collectstatic target. A new named volume mounted there
# starts with this folder's owner, so the unprivileged user can write it; nginx reads it.
WORKDIR /app
EXPOSE 8000
# No HEALTHCHECK here: it would apply to the worker, beat and migrate too. docker-compose.yml
# gives each long-running service its own (web: python -m deploy.healthcheck).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "smile_site.asgi:application"]

# --- GPU image ------------------------------------------------------------------------------
FROM runtime AS gpu
COPY --from=build-gpu /opt/venv /opt/venv
COPY . /app
# Hashed static files for ManifestStaticFilesStorage. The key exists for this command only
# (settings refuse to load without one in production); it is never stored in the image.
RUN SMILE_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    SMILE_ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput
USER smile:smile

# --- CPU image (the default target) ----------------------------------------------------------
FROM runtime AS app
COPY --from=build /opt/venv /opt/venv
COPY . /app
RUN SMILE_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    SMILE_ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput
USER smile:smile
