# Image for Aura workers (one per task queue in temporal-compose.yml), the Manager API and the
# aura CLI, from the same compiled output as a user's install: the build stage packs the
# tarball (`npm pack`: its prepack builds dist/, the workflow bundle and the shrinkwrap of the
# tested versions), and the image installs that tarball globally, as the README says to.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/aura-orchestra-*.tgz /tmp/aura-orchestra.tgz

FROM node:20-bookworm-slim
# bubblewrap isolates the verification sandbox; util-linux gives it setpriv and prlimit
# (the sandbox worker's container needs seccomp and AppArmor that allow user namespaces: see
# temporal-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /tmp/aura-orchestra.tgz /tmp/
RUN npm install -g --no-audit --no-fund /tmp/aura-orchestra.tgz && rm /tmp/aura-orchestra.tgz
WORKDIR /usr/local/lib/node_modules/aura-orchestra
# The workers load the workflows bundled at pack time (bin/aura does the same for `aura up`).
ENV AURA_HOME=/var/lib/aura \
    AURA_WORKFLOW_BUNDLE=/usr/local/lib/node_modules/aura-orchestra/dist/workflow-bundle.js
CMD ["node", "dist/worker-dev.js"]
