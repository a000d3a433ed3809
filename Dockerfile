# The codeshare server for a team deployment (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY common ./common
COPY daemon ./daemon
COPY db ./db
COPY server ./server
COPY types ./types
COPY bench ./bench
RUN npm ci && npm prune --omit=dev
ENV CODESHARE_HOME=/data
EXPOSE 4455
CMD ["node", "bin/codeshare.js", "server", "--host", "0.0.0.0", "--port", "4455", "--auth", "github"]
