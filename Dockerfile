# Carnet server image: Node 24 on Debian bookworm (slim), production dependencies only.
# Build: docker build -t carnet .
# Run:   docker run -p 8080:8080 -v carnet-data:/data carnet
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so that a change of source code reuses this layer.
# --omit=dev also leaves out the `node` devDependency (Node 24 for machines whose system Node is
# older): here the image's own Node 24 runs Carnet, which is why CMD calls `node` directly.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Source (TypeScript, run as is: Node strips the types; no build step). What is copied is
# whitelisted in .dockerignore. Files stay owned by root: the server cannot rewrite its own code.
COPY . .

# The data folder belongs to the unprivileged `node` user of the base image.
RUN mkdir -p /data && chown node:node /data
USER node

ENV DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0
VOLUME /data
EXPOSE 8080

# No curl in slim images: Node's fetch asks /health. With TLS on, it asks over HTTPS without
# checking the certificate (loopback only; the certificate names the public host, not 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "--no-warnings", "-e", "const https = Boolean(process.env.TLS_CERT_FILE); if (https) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; fetch((https ? 'https' : 'http') + '://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown, see src/main.ts).
CMD ["node", "src/main.ts"]
