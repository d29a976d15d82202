package promapi

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// BuildInfo is /status/buildinfo.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// RuntimeInfo is /status/runtimeinfo.
type RuntimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

// TSDBStat is one name and count of /status/tsdb.
type TSDBStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// HeadStats are the head figures of /status/tsdb.
type HeadStats struct {
	NumSeries     uint64 `json:"numSeries"`
	NumLabelPairs int    `json:"numLabelPairs"`
	ChunkCount    int64  `json:"chunkCount"`
	MinTime       int64  `json:"minTime"`
	MaxTime       int64  `json:"maxTime"`
}

// TSDBStatus is /status/tsdb.
type TSDBStatus struct {
	HeadStats                   HeadStats  `json:"headStats"`
	SeriesCountByMetricName     []TSDBStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []TSDBStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []TSDBStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []TSDBStat `json:"seriesCountByLabelValuePair"`
}

// TSDBStatusProvider may be implemented by a TenantStorage to serve
// /status/tsdb from its own index; otherwise the API computes the label
// statistics from a scan of every series, and min/max time from an optional
// MinTime() int64 / MaxTime() int64.
type TSDBStatusProvider interface {
	TSDBStatus(limit int) (TSDBStatus, error)
}

// WALReplayStatus is /status/walreplay: the first, last and current segment.
type WALReplayStatus struct {
	Min     int `json:"min"`
	Max     int `json:"max"`
	Current int `json:"current"`
}

// WALReplayStatusProvider may be implemented by a TenantStorage; otherwise
// /status/walreplay reports zeros (replay done before the API serves).
type WALReplayStatusProvider interface {
	WALReplayStatus() (WALReplayStatus, error)
}

func (a *API) statusBuildInfo(*http.Request) result {
	bi := a.opts.BuildInfo
	return result{data: &bi}
}

func (a *API) statusRuntimeInfo(*http.Request) result {
	if a.opts.RuntimeInfo == nil {
		host, _ := os.Hostname()
		cwd, _ := os.Getwd()
		return result{data: RuntimeInfo{
			CWD: cwd, Hostname: host, ServerTime: a.now().UTC(), ReloadConfigSuccess: true,
			GoroutineCount: runtime.NumGoroutine(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			GOGC: os.Getenv("GOGC"), GODEBUG: os.Getenv("GODEBUG"), GOMEMLIMIT: math.MaxInt64,
		}}
	}
	ri, err := a.opts.RuntimeInfo()
	if err != nil {
		return result{data: ri, err: &apiError{errorInternal, err}}
	}
	return result{data: ri}
}

func (a *API) statusConfig(*http.Request) result {
	y := ""
	if a.opts.Config != nil {
		y = a.opts.Config().String()
	}
	return result{data: &yamlData{YAML: y}}
}

func (a *API) statusFlags(*http.Request) result {
	f := a.opts.Flags
	if f == nil {
		f = map[string]string{}
	}
	return result{data: f}
}

// maxTSDBStatusLimit bounds the limit parameter of /status/tsdb.
const maxTSDBStatusLimit = 10000

func (a *API) statusTSDB(r *http.Request) result {
	limit := 10
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return result{err: badData(errors.New("limit must be a positive number"))}
		}
		if limit > maxTSDBStatusLimit {
			return result{err: badData(fmt.Errorf("limit must not exceed %d", maxTSDBStatusLimit))}
		}
	}
	id, st, apiErr := a.tenant(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if p, ok := st.(TSDBStatusProvider); ok {
		s, err := p.TSDBStatus(limit)
		if err != nil {
			return result{err: &apiError{errorInternal, err}}
		}
		return result{data: s}
	}
	s, err := a.scanTSDBStatus(r, id, st, limit)
	if err != nil {
		return result{err: &apiError{errorInternal, err}}
	}
	return result{data: s}
}

// HeadQueryableProvider may be implemented by a TenantStorage whose data
// spans a head and persisted blocks: /status/tsdb then scans the head only,
// since Prometheus's figures there are its head's.
type HeadQueryableProvider interface {
	HeadQueryable() storage.Queryable
}

// scanTSDBStatus computes /status/tsdb from the labels of every series (of
// the head, with HeadQueryableProvider).
func (a *API) scanTSDBStatus(r *http.Request, tenant string, st TenantStorage, limit int) (TSDBStatus, error) {
	var src storage.Queryable = st
	if h, ok := st.(HeadQueryableProvider); ok {
		src = h.HeadQueryable()
	}
	q, err := src.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		return TSDBStatus{}, err
	}
	defer q.Close()
	perName := map[string]map[string]uint64{} // label name → value → series count
	var numSeries uint64
	hints := &storage.SelectHints{Start: math.MinInt64, End: math.MaxInt64, Func: "series"}
	set := q.Select(r.Context(), false, hints, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	for set.Next() {
		numSeries++
		set.At().Labels().Range(func(l labels.Label) {
			vals := perName[l.Name]
			if vals == nil {
				vals = map[string]uint64{}
				perName[l.Name] = vals
			}
			vals[l.Value]++
		})
	}
	if err := set.Err(); err != nil {
		return TSDBStatus{}, err
	}
	var byMetric, byLabel, bySize, byPair []TSDBStat
	numPairs := 0
	for n, vals := range perName {
		byLabel = append(byLabel, TSDBStat{n, uint64(len(vals))})
		numPairs += len(vals)
		var size uint64
		for v, c := range vals {
			if n == labels.MetricName {
				byMetric = append(byMetric, TSDBStat{v, c})
			}
			byPair = append(byPair, TSDBStat{n + "=" + v, c})
			size += labels.SizeOfLabels(n, v, c)
		}
		bySize = append(bySize, TSDBStat{n, size})
	}
	out := TSDBStatus{
		HeadStats:                   HeadStats{NumSeries: numSeries, NumLabelPairs: numPairs, ChunkCount: a.headChunks(tenant), MinTime: math.MaxInt64, MaxTime: math.MinInt64},
		SeriesCountByMetricName:     topStats(byMetric, limit),
		LabelValueCountByLabelName:  topStats(byLabel, limit),
		MemoryInBytesByLabelName:    topStats(bySize, limit),
		SeriesCountByLabelValuePair: topStats(byPair, limit),
	}
	if b, ok := st.(interface {
		MinTime() int64
		MaxTime() int64
	}); ok {
		out.HeadStats.MinTime, out.HeadStats.MaxTime = b.MinTime(), b.MaxTime()
	}
	return out, nil
}

// topStats sorts by count (descending, then name for a stable answer) and
// keeps limit entries.
func topStats(s []TSDBStat, limit int) []TSDBStat {
	slices.SortFunc(s, func(a, b TSDBStat) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(s) > limit {
		s = s[:limit]
	}
	if s == nil {
		s = []TSDBStat{}
	}
	return s
}

// headChunks reads the tenant's prometheus_tsdb_head_chunks from the
// gatherer: the default tenant's carries no tenant label, another's
// tenant="<id>" (storage's convention). Like Prometheus, an absent metric is
// int64(NaN).
func (a *API) headChunks(tenant string) int64 {
	nan := math.NaN()
	missing := int64(nan)
	if a.opts.Gatherer == nil {
		return missing
	}
	mfs, err := a.opts.Gatherer.Gather()
	if err != nil {
		return missing
	}
	for _, mf := range mfs {
		if mf.GetName() != "prometheus_tsdb_head_chunks" {
			continue
		}
		for _, m := range mf.Metric {
			owner := DefaultTenant
			for _, l := range m.Label {
				if l.GetName() == "tenant" {
					owner = l.GetValue()
				}
			}
			if owner == tenant && m.Gauge != nil {
				return int64(m.Gauge.GetValue())
			}
		}
	}
	return missing
}

func (a *API) statusWALReplay(r *http.Request) result {
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if p, ok := st.(WALReplayStatusProvider); ok {
		s, err := p.WALReplayStatus()
		if err != nil {
			return result{err: &apiError{errorInternal, err}}
		}
		return result{data: s}
	}
	return result{data: WALReplayStatus{}}
}

// BlockMetasProvider may be implemented by a TenantStorage to list its
// persisted blocks on /status/tsdb/blocks (any JSON-encodable metas, shaped
// like Prometheus's tsdb.BlockMeta); otherwise the list is empty.
type BlockMetasProvider interface {
	BlockMetas() (any, error)
}

type blocksData struct {
	Blocks any `json:"blocks"`
}

func (a *API) statusTSDBBlocks(r *http.Request) result {
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	var metas any = []struct{}{}
	if p, ok := st.(BlockMetasProvider); ok {
		m, err := p.BlockMetas()
		if err != nil {
			return result{err: &apiError{errorInternal, fmt.Errorf("error getting block metadata: %w", err)}}
		}
		metas = m
	}
	return result{data: &blocksData{Blocks: metas}}
}
