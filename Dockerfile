# upwatch in a container: the static binary on a minimal base.
#   docker build -t upwatch .
#   docker run -d -p 8080:8080 -v upwatch:/data upwatch
# The build stage runs the same `make build` as everywhere else (CI runs
# it too, without Docker: make release-check).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN GOTOOLCHAIN=auto go mod download
COPY . .
RUN GOTOOLCHAIN=auto make build VERSION="${VERSION:-container}"

# CA certificates for https checks and alerts, time-zone data for push
# cron schedules and maintenance windows; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/upwatch /usr/local/bin/upwatch
ENV DATABASE_URL=/data/upwatch.db PORT=8080
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["/usr/local/bin/upwatch", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/upwatch"]
CMD ["serve"]
