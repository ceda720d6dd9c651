# Image for Aura workers (one per task queue in temporal-compose.yml) and the aura CLI.
FROM node:20-bookworm-slim
WORKDIR /app
# util-linux gives the sandbox prlimit and unshare (network isolation needs CAP_SYS_ADMIN).
RUN apt-get update && apt-get install -y --no-install-recommends util-linux ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
ENV AURA_HOME=/var/lib/aura
CMD ["node", "--import", "tsx", "workers/dev.ts"]
