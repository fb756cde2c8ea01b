# One image for every RetailFlow service and for the suite itself:
#   python -m retailflow.serve SERVICE --host 0.0.0.0 --service-port 8080   (a shop service)
#   locust -f /app/locustfile.py --master|--worker ...                       (load)
#   doorbuster ...                                                           (any stage)
# Build: docker build -t REGISTRY/doorbuster:TAG .   (see docs/kubernetes.md)

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# -- build: resolve and install the project into a virtual environment ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency ships a manylinux wheel for this Python, so no compiler is needed here either;
# the metadata goes first so a code change does not re-resolve the dependencies.
COPY pyproject.toml README.md ./
COPY doorbuster/ doorbuster/
COPY retailflow/ retailflow/
COPY scenarios/ scenarios/
COPY chaos/ chaos/
COPY reports/ reports/
COPY fixtures/ fixtures/
RUN pip install --no-cache-dir . \
    && python -m compileall -q /opt/venv/lib

# -- run: the virtual environment on a slim base, as a non-root user ------------------------
FROM ${PYTHON_IMAGE} AS run
LABEL org.opencontainers.image.title="doorbuster" \
      org.opencontainers.image.description="RetailFlow reference shop and the Doorbuster load/chaos/SLO suite"
# A fixed numeric uid: Kubernetes' runAsNonRoot can only verify a number.
RUN groupadd --system --gid 10001 doorbuster \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin doorbuster
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Locust's `-f` needs a file; it only imports the journeys from the installed packages.
COPY --chown=10001:10001 locustfile.py /app/locustfile.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RF_DATA_DIR=/var/lib/retailflow \
    MPLCONFIGDIR=/tmp/matplotlib
RUN install -d -o 10001 -g 10001 /var/lib/retailflow /runs
USER 10001:10001
EXPOSE 8080
CMD ["doorbuster", "--help"]
