//go:build tools

// Package deps pins the modules the packages are being written against, so that
// go.mod and go.sum hold them before the code that imports them lands.
// It is removed once every import below has a real user.
package deps

import (
	_ "github.com/alecthomas/kingpin/v2"
	_ "github.com/golang/snappy"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/common/model"
	_ "github.com/prometheus/common/promslog"
	_ "github.com/prometheus/common/version"
	_ "github.com/prometheus/exporter-toolkit/web"
	_ "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/install"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "github.com/prometheus/prometheus/model/textparse"
	_ "github.com/prometheus/prometheus/notifier"
	_ "github.com/prometheus/prometheus/prompb"
	_ "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	_ "github.com/prometheus/prometheus/promql"
	_ "github.com/prometheus/prometheus/promql/parser"
	_ "github.com/prometheus/prometheus/promql/promqltest"
	_ "github.com/prometheus/prometheus/rules"
	_ "github.com/prometheus/prometheus/scrape"
	_ "github.com/prometheus/prometheus/storage"
	_ "github.com/prometheus/prometheus/storage/remote"
	_ "github.com/prometheus/prometheus/tsdb/chunkenc"
	_ "github.com/prometheus/prometheus/tsdb/chunks"
	_ "github.com/prometheus/prometheus/util/annotations"
	_ "github.com/prometheus/prometheus/util/teststorage"
	_ "github.com/stretchr/testify/require"
	_ "github.com/thanos-io/objstore"
	_ "github.com/thanos-io/objstore/providers/filesystem"
	_ "github.com/thanos-io/objstore/providers/s3"
	_ "golang.org/x/sys/unix"
)
