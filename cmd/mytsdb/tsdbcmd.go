package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/thanos-io/objstore/client"

	"mytsdb/storage"
	"mytsdb/storage/backfill"
	"mytsdb/storage/export"
	"mytsdb/storage/parquettier"
)

// runTSDB is `mytsdb tsdb ...`: the offline tools for moving history in and
// out, shaped like promtool's `tsdb` commands. It runs instead of the
// server (main dispatches on the first argument, which Prometheus's flags
// never are).
func runTSDB(args []string, stdout, stderr io.Writer) int {
	a := kingpin.New("mytsdb tsdb", "Offline tools for mytsdb's data: backfill and export.").UsageWriter(stdout).ErrorWriter(stderr)
	a.HelpFlag.Short('h')

	create := a.Command("create-blocks-from", "Create mytsdb blocks from external data.")
	om := create.Command("openmetrics", "Import samples from OpenMetrics input and produce mytsdb blocks, as promtool's command of that name produces Prometheus's.")
	omInput := om.Arg("input file", "OpenMetrics file to read samples from.").Required().String()
	omOutput := om.Arg("output directory", "Data directory (--storage.tsdb.path) to add the blocks to.").Default("data/").String()
	omTenant := om.Flag("tenant", "Tenant whose blocks directory receives the blocks.").Default(storage.DefaultTenant).String()
	omMaxBlock := om.Flag("max-block-duration", "Maximum duration created blocks may span. Anything less than 2h is ignored.").Hidden().PlaceHolder("<duration>").Duration()
	omLabels := om.Flag("label", "Label to attach to metrics. Can be specified multiple times. Example --label=label_name=label_value").StringMap()
	omQuiet := om.Flag("quiet", "Do not print created blocks.").Short('q').Bool()

	imp := a.Command("import-prometheus-blocks", "Write the Prometheus blocks of a directory (another Prometheus's data directory, or blocks from promtool) as mytsdb blocks.")
	impSrc := imp.Arg("source directory", "Directory holding Prometheus block directories; it is not changed.").Required().String()
	impOutput := imp.Arg("output directory", "Data directory (--storage.tsdb.path) to add the blocks to; a running server picks them up within --storage.tsdb.block-reload-interval.").Default("data/").String()
	impTenant := imp.Flag("tenant", "Tenant whose blocks directory receives the blocks.").Default(storage.DefaultTenant).String()

	exp := a.Command("export", "Write a tenant's data (and the Prometheus history it serves) as Prometheus TSDB blocks that a real Prometheus opens with --storage.tsdb.path.")
	expOutput := exp.Arg("output directory", "Directory to write the Prometheus blocks to.").Required().String()
	expData := exp.Flag("storage.tsdb.path", "mytsdb's data directory (the server must be stopped: the directory is locked).").Default("data/").String()
	expTenant := exp.Flag("tenant", "Tenant to export.").Default(storage.DefaultTenant).String()
	expQuiet := exp.Flag("quiet", "Do not print written blocks.").Short('q').Bool()
	expBucket := exp.Flag("storage.parquet.bucket-config-file", "The server's Parquet tier bucket (Thanos object storage configuration), whose blocks are exported too. Empty: the default FILESYSTEM bucket in <storage.tsdb.path>/bucket/, when it exists.").String()
	expNoTier := exp.Flag("no-storage.parquet.enabled", "Export the local blocks only, leaving out what only the Parquet tier holds.").Bool()

	cmd, err := a.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "Error parsing command line arguments: %s\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	switch cmd {
	case om.FullCommand():
		if err := storage.ValidateTenantID(*omTenant); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		input, err := os.ReadFile(*omInput)
		if err != nil {
			fmt.Fprintln(stderr, "read input:", err)
			return 1
		}
		dir := filepath.Join(*omOutput, *omTenant, "blocks")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		metas, err := backfill.FromOpenMetrics(ctx, input, dir, blockDuration(*omMaxBlock), *omLabels, logger)
		if !*omQuiet {
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "BLOCK ULID\tMIN TIME\tMAX TIME\tDURATION\tNUM SAMPLES\tNUM SERIES")
			for _, m := range metas {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\n", m.ULID, m.MinTime, m.MaxTime,
					time.Duration(m.MaxTime-m.MinTime)*time.Millisecond, m.Stats.NumSamples, m.Stats.NumSeries)
			}
			tw.Flush()
		}
		if err != nil {
			fmt.Fprintln(stderr, "getting min and max timestamp or creating blocks:", err)
			return 1
		}
	case imp.FullCommand():
		if err := storage.ValidateTenantID(*impTenant); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		dir := filepath.Join(*impOutput, *impTenant, "blocks")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		metas, err := backfill.ImportPrometheusBlocks(ctx, *impSrc, dir, logger)
		for _, m := range metas {
			fmt.Fprintf(stdout, "%s\t%d\t%d\t%d samples\t%d series\n", m.ULID, m.MinTime, m.MaxTime, m.Stats.NumSamples, m.Stats.NumSeries)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case exp.FullCommand():
		opts := storage.Options{Dir: *expData, Logger: logger, MaintenanceInterval: 1<<63 - 1}
		if !*expNoTier {
			tier, err := exportTier(*expData, *expBucket, logger)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			opts.Tier = tier
		}
		db, err := storage.Open(opts)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer db.Close()
		if !contains(db.Tenants(), *expTenant) {
			fmt.Fprintf(stderr, "no tenant %q in %s (tenants: %v)\n", *expTenant, *expData, db.Tenants())
			return 1
		}
		t, err := db.Tenant(*expTenant)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		mint, err := t.StartTime()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		blocks, err := export.Export(ctx, t, mint, t.EndTime(), *expOutput, export.DefaultBlockDuration, logger)
		if !*expQuiet {
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "BLOCK ULID\tMIN TIME\tMAX TIME\tNUM SAMPLES\tNUM SERIES")
			for _, b := range blocks {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", b.ULID, b.MinTime, b.MaxTime, b.NumSamples, b.NumSeries)
			}
			tw.Flush()
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}

// exportTier is the Parquet tier the export reads beside the local blocks:
// the bucket the server was given (bucketConfig), or else the default
// FILESYSTEM bucket if the data directory has one; nil when there is none.
// The export only reads it: no maintenance round runs, so nothing is
// uploaded, dropped or expired.
func exportTier(dataDir, bucketConfig string, logger *slog.Logger) (storage.Tier, error) {
	var yaml []byte
	if bucketConfig != "" {
		b, err := os.ReadFile(bucketConfig)
		if err != nil {
			return nil, fmt.Errorf("--storage.parquet.bucket-config-file: %w", err)
		}
		yaml = b
	} else {
		if _, err := os.Stat(filepath.Join(dataDir, storage.BucketDirName)); err != nil {
			return nil, nil
		}
		b, err := defaultBucketConfig(dataDir)
		if err != nil {
			return nil, err
		}
		yaml = b
	}
	bkt, err := client.NewBucket(gokitLogger{logger}, yaml, "mytsdb", nil)
	if err != nil {
		return nil, fmt.Errorf("the Parquet tier's bucket: %w", err)
	}
	return parquettier.New(bkt, parquettier.Options{Logger: logger}), nil
}

// blockDuration is promtool's rule for --max-block-duration: the largest
// of 2h×3ⁿ not above it, at least 2h.
func blockDuration(maxBlock time.Duration) int64 {
	d := backfill.DefaultBlockDuration
	limit := maxBlock.Milliseconds()
	for i := 0; i < 10 && d*3 <= limit; i++ {
		d *= 3
	}
	return d
}
