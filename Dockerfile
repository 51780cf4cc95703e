# One image for every Python service of docker-compose.yml (daphne, Celery worker and beat,
# migrate); each service gives its own command. Multi-stage: pip and any compiler stay in the
# build stage, the final stage holds the virtual environment, the code and the static files,
# and runs as an unprivileged user. Nothing secret is baked in: configuration comes from the
# environment at run time (.env, see .env.example).
#
#   docker build -t smile .                                       # the CPU image
#   docker build --build-arg TENSORFLOW=gpu -t smile:gpu .        # TensorFlow with CUDA, for `--profile gpu`
#
# Both BuildKit and the classic builder (DOCKER_BUILDKIT=0, docker-compose 1.x) build it, with
# no `# syntax=` line: BuildKit's built-in frontend needs no image from a registry. The GPU
# variant is a build argument rather than a stage of its own because the classic builder builds
# every stage before its target: a GPU stage would download gigabytes of CUDA wheels for the
# CPU image too.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Build: the virtual environment, from the pinned requirements --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# Behind a proxy that inspects TLS, pip must trust the proxy's CA: pass its certificate(s), PEM
# text, as a build argument (README, "Production"):
#   docker compose build --build-arg EXTRA_CA_CERTS="$(cat /path/to/proxy-ca.pem)"
# pip then trusts the image's CA bundle plus these, in this stage only: the final image copies
# /opt/venv and nothing else from here. Empty (the default), pip uses its own bundle.
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
        cat /etc/ssl/certs/ca-certificates.crt > /etc/pip-ca.pem \
        && printf '%s\n' "$EXTRA_CA_CERTS" >> /etc/pip-ca.pem \
        && printf '[global]\ncert = /etc/pip-ca.pem\n' > /etc/pip.conf; \
    fi
COPY requirements.txt requirements-gpu.txt constraints.txt /tmp/requirements/
# TENSORFLOW=gpu (docker-compose.yml's worker-gpu): TensorFlow built for NVIDIA GPUs instead of
# tensorflow-cpu (same version; its CUDA libraries come pinned by TensorFlow's "and-cuda" extra).
ARG TENSORFLOW=cpu
RUN pip install -c /tmp/requirements/constraints.txt -r /tmp/requirements/requirements.txt \
    && case "$TENSORFLOW" in \
        cpu) ;; \
        gpu) pip uninstall -y tensorflow-cpu \
             && pip install -c /tmp/requirements/constraints.txt -r /tmp/requirements/requirements-gpu.txt ;; \
        *) echo "TENSORFLOW is cpu or gpu, not $TENSORFLOW" >&2; exit 1 ;; \
    esac

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

# --- The image (the default target; TENSORFLOW picks its TensorFlow) -------------------------
FROM runtime AS app
COPY --from=build /opt/venv /opt/venv
COPY . /app
RUN SMILE_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    SMILE_ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput
USER smile:smile
