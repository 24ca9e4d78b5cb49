#!/bin/sh
# Regenerates the Go code for protos/*.proto. Run from anywhere; it works from
# the repository root. Uses buf (buf.yaml, buf.gen.yaml; local plugins only)
# when buf is on PATH or in $(go env GOPATH)/bin, else protoc. Either way the
# plugins are protoc-gen-go v1.36.12, the version of google.golang.org/protobuf
# in go.mod, and protoc-gen-go-grpc v1.3.0, the newest whose code builds with
# google.golang.org/grpc v1.60.1 in go.mod. See protos/README.md.
set -eu

want_plugin=v1.36.12
want_grpc_plugin=1.3.0

cd "$(dirname "$0")/.."

gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
PATH="$PATH:$gobin"
export PATH

if ! command -v protoc-gen-go >/dev/null 2>&1; then
	echo "generate.sh: protoc-gen-go not found; install it with" >&2
	echo "  go install google.golang.org/protobuf/cmd/protoc-gen-go@$want_plugin" >&2
	exit 1
fi
have_plugin=$(protoc-gen-go --version | awk '{print $2}')
if [ "$have_plugin" != "$want_plugin" ]; then
	echo "generate.sh: protoc-gen-go is $have_plugin, want $want_plugin; install it with" >&2
	echo "  go install google.golang.org/protobuf/cmd/protoc-gen-go@$want_plugin" >&2
	exit 1
fi

if ! command -v protoc-gen-go-grpc >/dev/null 2>&1 ||
	[ "$(protoc-gen-go-grpc --version | awk '{print $2}')" != "$want_grpc_plugin" ]; then
	echo "generate.sh: protoc-gen-go-grpc $want_grpc_plugin not found; install it with" >&2
	echo "  go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v$want_grpc_plugin" >&2
	exit 1
fi

if command -v buf >/dev/null 2>&1; then
	echo "generate.sh: buf $(buf --version) with protoc-gen-go $have_plugin" >&2
	exec buf generate
fi

if command -v protoc >/dev/null 2>&1; then
	echo "generate.sh: $(protoc --version) with protoc-gen-go $have_plugin" >&2
	exec protoc -I protos \
		--go_out=protos --go_opt=paths=source_relative \
		--go-grpc_out=protos --go-grpc_opt=paths=source_relative \
		protos/*.proto
fi

echo "generate.sh: neither buf nor protoc found; install one of them:" >&2
echo "  go install github.com/bufbuild/buf/cmd/buf@v1.75.0" >&2
echo "  apt-get install -y protobuf-compiler libprotobuf-dev" >&2
exit 1
