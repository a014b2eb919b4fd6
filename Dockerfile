# syntax=docker/dockerfile:1
#
# identity-backend container image (docs/operations.md, "Deploying").
#
#   docker build -t identity-backend:local .
#   docker run -d --name identity-backend -p 5002:5002 -v identity-data:/data \
#     -e JWT_ISSUER=https://id.example.com -e SESSION_SECRET="$(openssl rand -base64 48)" \
#     --stop-timeout 15 identity-backend:local
#
# Two stages. The builder compiles with scripts/build-release.sh, the same command CI runs,
# and checks the result with scripts/smoke-release.sh (the binary started exactly as below:
# `start`, this ENV, as root and as an unprivileged user). The runtime stage is distroless:
# glibc, libgcc and CA certificates, no shell, no package manager. The binary needs nothing
# else: TLS is rustls with built-in webpki roots on aws-lc-rs (compiled in statically), the
# migrations, templates and CSS are compiled in.
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts.

# Debian 12 on both sides: the binary links the builder's glibc (2.36), which the runtime
# image must have too. Keep the two in step when moving to a newer Debian.
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder

# aws-lc-sys (0.47, through aws-lc-rs) builds AWS-LC with its cc builder on x86_64 and aarch64
# Linux: a C compiler is enough (no cmake, no bindgen: its bindings are pregenerated for these
# targets); rust:1-bookworm has gcc. curl and setpriv (util-linux) are there for the smoke test.
WORKDIR /src
COPY . .

# The cache mounts keep the crates.io downloads and the target directory between builds; the
# binary is copied out of the target cache (a cache mount is not part of the image).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/cache/target,sharing=locked \
    CARGO_TARGET_DIR=/cache/target bash scripts/build-release.sh \
 && install -D -m 0755 /cache/target/release/identity-backend /out/usr/local/bin/identity-backend

# The binary started the way the runtime stage starts it; a failure fails the build.
RUN SMOKE_BINARY=/out/usr/local/bin/identity-backend bash scripts/smoke-release.sh

# An empty directory to create /data from (below).
RUN install -d -o 65532 -g 65532 -m 0750 /out/data

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="identity-backend" \
      org.opencontainers.image.description="OpenID Connect provider and JWT issuer for the platform's microservices" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

# Root-owned and read-only for the service: it cannot replace its own binary.
COPY --from=builder /out/usr/local/bin/identity-backend /usr/local/bin/identity-backend
# /data, owned by the runtime user (distroless "nonroot", 65532). The base image has no /data,
# so COPY creates it, with --chown's owner (COPY copies a directory's contents, not the
# directory's own mode: /data is 0755). A named volume mounted there for the first time is
# filled from the image, the directory's owner included; a bind mount is not (chown it).
COPY --from=builder --chown=65532:65532 /out/data /data

# The working directory is where the binary looks for `.env` and `config/identity.toml`
# (when IDENTITY_CONFIG is not set). /app is root-owned and holds nothing: settings come from
# the environment (compose's env_file, `docker run --env-file`/`-e`), or a read-only mount of
# a .env at /app/.env or a TOML file at /app/config/identity.toml. Deliberately not /data: the
# service may write there, and a file it can write must not be able to change its settings.
WORKDIR /app

ENV BIND_ADDR=0.0.0.0:5002 \
    DATABASE_URL=sqlite:///data/identity.db

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
VOLUME ["/data"]
EXPOSE 5002

# /ping through the binary itself (no shell or curl in the image); it reads BIND_ADDR, 0.0.0.0
# becoming 127.0.0.1. Liveness only: /ping answers while the database is down (see /ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/identity-backend", "healthcheck"]

# SIGTERM: stop accepting, let in-flight requests finish (at most 10 s), stop background tasks,
# close the database, exit 0. Docker's default stop timeout is also 10 s, after which it sends
# SIGKILL: give it 15 s (`docker run --stop-timeout 15`, compose `stop_grace_period: 15s`).
STOPSIGNAL SIGTERM

ENTRYPOINT ["/usr/local/bin/identity-backend"]
CMD ["start"]
