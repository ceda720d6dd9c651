# Image for Aura workers (one per task queue in temporal-compose.yml) and the aura CLI.
FROM node:20-bookworm-slim
WORKDIR /app
# bubblewrap isolates the verification sandbox; util-linux gives it setpriv and prlimit
# (the sandbox worker's container needs seccomp and AppArmor that allow user namespaces: see
# temporal-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV AURA_HOME=/var/lib/aura
CMD ["node", "--import", "tsx", "workers/dev.ts"]
