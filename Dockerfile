# Hearth: a static, stripped binary on a distroless base. The embedded store
# lives in /data (mount a volume); configure with HEARTH_* variables.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hearth ./cmd/hearth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hearth /usr/local/bin/hearth
ENV HEARTH_HOME=/data
VOLUME ["/data"]
USER nonroot
ENTRYPOINT ["/usr/local/bin/hearth"]
CMD ["serve"]
