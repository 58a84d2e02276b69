# Sluice container image: build on Debian 12 (bookworm), run on a slim
# bookworm with only the shared libraries and tools the binary needs.
#
#   docker build -t sluice .
#   buildah --storage-driver vfs bud --isolation chroot -t sluice .
#   docker run -v /etc/sluice:/etc/sluice:ro -p 8080:8080 sluice

########################################################################
FROM debian:bookworm-slim AS build

WORKDIR /src
# Dependencies first, so this layer is cached until the package list changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*

COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=OFF \
 && cmake --build /build --target sluice --parallel "$(nproc)" \
 && cmake --install /build --prefix /opt/sluice --strip

########################################################################
# Helm and Terraform / OpenTofu for the helm and terraform adapters, pinned
# and verified: each download is checked against the SHA-256 passed as a
# build arg before anything is unpacked. An empty *_VERSION skips that tool
# (the exec adapter needs none of them); a version without its checksum
# fails the build. The defaults are for linux/amd64 (get.helm.sh and
# releases.hashicorp.com publish one checksum per architecture): for another
# architecture pass TARGETARCH and the matching *_SHA256, e.g.
#   docker build --build-arg HELM_VERSION=3.14.4 --build-arg HELM_SHA256=<sha> \
#     --build-arg TERRAFORM_VERSION= --build-arg TOFU_VERSION=1.7.2 \
#     --build-arg TOFU_SHA256=<sha> -t sluice .
FROM debian:bookworm-slim AS tools

ARG TARGETARCH=amd64
# https://github.com/helm/helm/releases/tag/v3.14.4 (helm-v3.14.4-linux-amd64.tar.gz.sha256sum)
ARG HELM_VERSION=3.14.4
ARG HELM_SHA256=a5844ef2c38ef6ddf3b5a8f7d91e7e0e8ebc39a38bb3fc8013d629c1ef29c259
# https://releases.hashicorp.com/terraform/1.7.5/terraform_1.7.5_SHA256SUMS
ARG TERRAFORM_VERSION=1.7.5
ARG TERRAFORM_SHA256=3ff056b5e8259003f67fd0f0ed7229499cfb0b41f3ff55cc184088589994f7a5
# https://github.com/opentofu/opentofu/releases (tofu_<v>_SHA256SUMS); off by default
ARG TOFU_VERSION=
ARG TOFU_SHA256=

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*

SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
RUN mkdir -p /out/bin && cd /tmp \
 && fetch() { \
      name="$1" version="$2" sha="$3" url="$4" file="$5"; \
      if [ -z "$version" ]; then echo "skipping $name (no version)"; return 0; fi; \
      if [ -z "$sha" ]; then echo "$name $version: pass its SHA-256 as a build arg" >&2; return 1; fi; \
      curl -fsSL --retry 3 -o "$file" "$url" || return 1; \
      echo "$sha  $file" | sha256sum -c - || return 1; \
    } \
 && fetch helm "$HELM_VERSION" "$HELM_SHA256" \
      "https://get.helm.sh/helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz" helm.tgz \
 && if [ -n "$HELM_VERSION" ]; then \
      tar -xzf helm.tgz "linux-${TARGETARCH}/helm" \
      && install -m 0755 "linux-${TARGETARCH}/helm" /out/bin/helm; fi \
 && fetch terraform "$TERRAFORM_VERSION" "$TERRAFORM_SHA256" \
      "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_${TARGETARCH}.zip" \
      terraform.zip \
 && if [ -n "$TERRAFORM_VERSION" ]; then \
      unzip -o terraform.zip terraform -d /out/bin && chmod 0755 /out/bin/terraform; fi \
 && fetch tofu "$TOFU_VERSION" "$TOFU_SHA256" \
      "https://github.com/opentofu/opentofu/releases/download/v${TOFU_VERSION}/tofu_${TOFU_VERSION}_linux_${TARGETARCH}.zip" \
      tofu.zip \
 && if [ -n "$TOFU_VERSION" ]; then \
      unzip -o tofu.zip tofu -d /out/bin && chmod 0755 /out/bin/tofu; fi \
 && rm -rf /tmp/* \
 && ls -l /out/bin

########################################################################
FROM debian:bookworm-slim AS runtime

# Runtime libraries of the build dependencies (Debian 12 names; cpp-httplib
# for the HTTP server and libical for .ics freeze calendars), plus git and ssh
# for repository access over SSH, CA certificates for HTTPS, and tzdata for
# release windows in IANA time zones.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgit2-1.5 libyaml-cpp0.7 libcurl4 libspdlog1.10 libfmt9 \
      libboost-filesystem1.74.0 libcpp-httplib0.11 libical3 libssl3 \
      ca-certificates git openssh-client tzdata \
 && rm -rf /var/lib/apt/lists/*

# Helm and Terraform/OpenTofu (verified in the `tools` stage); whichever were
# skipped are simply absent. The exec adapter needs nothing extra. See
# docs/adapters.md for the credentials each adapter needs at run time.
COPY --from=tools /out/bin/ /usr/local/bin/

COPY --from=build /opt/sluice /opt/sluice
# Fail the image build, not the first run, if a shared library is missing.
RUN ! ldd /opt/sluice/bin/sluice | grep 'not found'

RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice \
      --create-home --shell /usr/sbin/nologin sluice \
 && mkdir -p /etc/sluice

ENV PATH=/opt/sluice/bin:$PATH
USER sluice
WORKDIR /var/lib/sluice
EXPOSE 8080
ENTRYPOINT ["/opt/sluice/bin/sluice"]
CMD ["controller", "--config", "/etc/sluice/config.yaml"]
