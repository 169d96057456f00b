# Entourage: one image for both processes; ROLE=web or ROLE=worker picks which (default all).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: the lock file cannot list other platforms' optional binaries.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/.data \
    ENV_FILE=/app/config/.env
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Without src/ it builds nothing: `npm run admin` and `npm start` run dist/ as it is.
COPY --from=build /app/scripts ./scripts
COPY app.yml ./
# Writable by the app alone: the embedded database (when DATABASE_URL is unset) and the .env that /setup writes.
RUN mkdir -p /app/.data /app/config && chown node:node /app/.data /app/config
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/api/v1/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/index.js"]
