# Tandem: one node. Build: docker build -t tandem .  (docker-compose.yml runs it with Postgres)
FROM node:24-slim

WORKDIR /app
RUN chown node:node /app
USER node

# `npm ci` runs the postinstall `prisma generate`, which reads prisma/schema.prisma: copy it
# before installing. Dev dependencies are needed to install (prisma generates the client), so
# this is a full install, and NODE_ENV is set only after it.
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node prisma ./prisma
RUN npm ci && npm cache clean --force

COPY --chown=node:node . .
# The server compiled to JavaScript (dist/) and the web editor's bundles (web/dist): npm start
# builds them too, but the CMD below skips npm.
RUN npm run build

# MALLOC_TRIM_THRESHOLD_: as npm start sets it (see the README's "Memory").
ENV NODE_ENV=production \
    MALLOC_TRIM_THRESHOLD_=131072 \
    HOST=0.0.0.0 \
    PORT=1234 \
    DATA_DIR=/app/data
EXPOSE 1234

# `npm start` without npm in front: Tandem itself is PID 1's child and gets docker's SIGTERM,
# which makes it close its sockets (1001) and flush the op log before it exits. A young
# generation of 8 MB instead of V8's default (up to 64 MB on a big machine): a third less
# memory per connection under load (bench S2), at no measurable CPU cost.
CMD ["node", "--max-semi-space-size=8", "dist/src/main.js"]
