# syntax=docker/dockerfile:1
# One image for every piece of the local system: the gateway (`portcullis serve`), the dev
# issuer (`portcullis idp`) and the upstream stubs (`portcullis stubs`); see docker-compose.yml.
#   docker build -t portcullis .
ARG SWIFT_VERSION=6.1

# --- build: the Swift toolchain, OpenSSL headers; a release binary with the Swift runtime inside
FROM swift:${SWIFT_VERSION}-jammy AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not fetch them again.
COPY Package.* ./
RUN swift package resolve
COPY . .
RUN swift build -c release --product portcullis --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/portcullis" /out/portcullis

# --- runtime: OpenSSL 3 (JWS), git (policy repositories), curl (healthchecks), a non-root user
FROM ubuntu:22.04 AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 git ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin portcullis
WORKDIR /app
COPY --from=build /out/portcullis /usr/local/bin/portcullis
COPY --chown=root:root routes.yaml ./routes.yaml
COPY --chown=root:root compose/ ./compose/
COPY --chown=root:root realms/ ./realms/
COPY --chown=root:root rego-lite/policies/ ./rego-lite/policies/
USER portcullis:portcullis
EXPOSE 8080 9901
ENTRYPOINT ["portcullis"]
CMD ["serve", "--config", "/app/compose/routes.yaml"]
