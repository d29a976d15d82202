package promapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/scrape"
	"go.yaml.in/yaml/v2"
)

// GlobalURLOptions describe how this server is reached from outside; a target
// on localhost is shown under that host in "globalUrl".
type GlobalURLOptions struct {
	ListenAddress string // --web.listen-address
	Host          string // host[:port] of --web.external-url
	Scheme        string // scheme of --web.external-url
}

// localhostNames are the hosts rewritten to the external host in globalUrl.
var localhostNames = []string{"127.0.0.1", "localhost", "::1"}

type activeTarget struct {
	DiscoveredLabels   labels.Labels       `json:"discoveredLabels"`
	Labels             labels.Labels       `json:"labels"`
	ScrapePool         string              `json:"scrapePool"`
	ScrapeURL          string              `json:"scrapeUrl"`
	GlobalURL          string              `json:"globalUrl"`
	LastError          string              `json:"lastError"`
	LastScrape         time.Time           `json:"lastScrape"`
	LastScrapeDuration float64             `json:"lastScrapeDuration"`
	Health             scrape.TargetHealth `json:"health"`
	ScrapeInterval     string              `json:"scrapeInterval"`
	ScrapeTimeout      string              `json:"scrapeTimeout"`
}

type droppedTarget struct {
	DiscoveredLabels labels.Labels `json:"discoveredLabels"`
	ScrapePool       string        `json:"scrapePool"`
}

type targetDiscovery struct {
	ActiveTargets       []*activeTarget  `json:"activeTargets"`
	DroppedTargets      []*droppedTarget `json:"droppedTargets"`
	DroppedTargetCounts map[string]int   `json:"droppedTargetCounts"`
}

// noTargets serves an empty target list when Options.Targets is nil.
type noTargets struct{}

func (noTargets) TargetsActive() map[string][]*scrape.Target  { return nil }
func (noTargets) TargetsDropped() map[string][]*scrape.Target { return nil }
func (noTargets) TargetsDroppedCounts() map[string]int        { return map[string]int{} }

func (a *API) targetRetriever() TargetRetriever {
	if a.opts.Targets == nil {
		return noTargets{}
	}
	return a.opts.Targets
}

func sortedPools(m map[string][]*scrape.Target) (pools []string, n int) {
	for p, ts := range m {
		pools = append(pools, p)
		n += len(ts)
	}
	slices.Sort(pools)
	return pools, n
}

func (a *API) targets(r *http.Request) result {
	q := r.URL.Query()
	pool := q.Get("scrapePool")
	state := strings.ToLower(q.Get("state"))
	showActive := state == "" || state == "any" || state == "active"
	showDropped := state == "" || state == "any" || state == "dropped"
	tr := a.targetRetriever()
	b := labels.NewBuilder(labels.EmptyLabels())
	res := &targetDiscovery{}

	res.ActiveTargets = []*activeTarget{}
	if showActive {
		active := tr.TargetsActive()
		pools, n := sortedPools(active)
		res.ActiveTargets = make([]*activeTarget, 0, n)
		for _, p := range pools {
			if pool != "" && p != pool {
				continue
			}
			for _, t := range active[p] {
				res.ActiveTargets = append(res.ActiveTargets, a.activeTarget(p, t, b))
			}
		}
	}
	res.DroppedTargets = []*droppedTarget{}
	if showDropped {
		res.DroppedTargetCounts = tr.TargetsDroppedCounts()
		dropped := tr.TargetsDropped()
		pools, n := sortedPools(dropped)
		res.DroppedTargets = make([]*droppedTarget, 0, n)
		for _, p := range pools {
			if pool != "" && p != pool {
				continue
			}
			for _, t := range dropped[p] {
				res.DroppedTargets = append(res.DroppedTargets, &droppedTarget{DiscoveredLabels: t.DiscoveredLabels(b), ScrapePool: p})
			}
		}
	}
	return result{data: res}
}

func (a *API) activeTarget(pool string, t *scrape.Target, b *labels.Builder) *activeTarget {
	lastErr := ""
	if err := t.LastError(); err != nil {
		lastErr = err.Error()
	}
	global, err := globalURL(t.URL(), a.opts.GlobalURL)
	if err != nil {
		lastErr = fmt.Errorf("%s: %w", lastErr, err).Error()
	}
	return &activeTarget{
		DiscoveredLabels:   t.DiscoveredLabels(b),
		Labels:             t.Labels(b),
		ScrapePool:         pool,
		ScrapeURL:          t.URL().String(),
		GlobalURL:          global.String(),
		LastError:          lastErr,
		LastScrape:         t.LastScrape(),
		LastScrapeDuration: t.LastScrapeDuration().Seconds(),
		Health:             t.Health(),
		ScrapeInterval:     t.GetValue(model.ScrapeIntervalLabel),
		ScrapeTimeout:      t.GetValue(model.ScrapeTimeoutLabel),
	}
}

// splitHostPort is net.SplitHostPort that accepts a host without a port.
func splitHostPort(in string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(in)
	if err != nil && strings.HasSuffix(err.Error(), "missing port in address") {
		if h, _, err2 := net.SplitHostPort(in + ":80"); err2 == nil {
			host, err = h, nil
		}
	}
	return host, port, err
}

// globalURL rewrites a localhost target URL to the external host: entirely
// (scheme and host) if it is this server, else the host only.
func globalURL(u *url.URL, o GlobalURLOptions) (*url.URL, error) {
	host, port, err := splitHostPort(u.Host)
	if err != nil {
		return u, err
	}
	if !slices.Contains(localhostNames, host) {
		return u, nil
	}
	_, ownPort, err := net.SplitHostPort(o.ListenAddress)
	if err != nil {
		return u, err
	}
	if port == ownPort {
		u.Scheme = o.Scheme
		u.Host = o.Host
		return u, nil
	}
	h, _, err := splitHostPort(o.Host)
	if err != nil {
		return u, err
	}
	u.Host = h
	if port != "" {
		u.Host = net.JoinHostPort(h, port)
	}
	return u, nil
}

type scrapePoolsData struct {
	ScrapePools []string `json:"scrapePools"`
}

func (a *API) scrapePools(*http.Request) result {
	var names []string
	if sp, ok := a.opts.Targets.(interface{ ScrapePools() []string }); ok {
		names = sp.ScrapePools()
	} else {
		tr := a.targetRetriever()
		seen := map[string]struct{}{}
		for p := range tr.TargetsActive() {
			seen[p] = struct{}{}
		}
		for p := range tr.TargetsDropped() {
			seen[p] = struct{}{}
		}
		for p := range seen {
			names = append(names, p)
		}
	}
	if names == nil {
		names = []string{}
	}
	slices.Sort(names)
	return result{data: &scrapePoolsData{ScrapePools: names}}
}

type yamlData struct {
	YAML string `json:"yaml"`
}

func (a *API) scrapePoolConfig(r *http.Request) result {
	pool := r.FormValue("scrapePool")
	if pool == "" {
		return result{err: badData(errors.New("no scrapePool parameter provided"))}
	}
	cfg, err := a.poolConfig(pool)
	if err != nil {
		return result{err: badData(fmt.Errorf("error retrieving scrape config: %w", err))}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("error marshaling scrape config: %w", err)}}
	}
	return result{data: &yamlData{YAML: string(out)}}
}

type targetMetadataEntry struct {
	Target       labels.Labels    `json:"target"`
	MetricFamily string           `json:"metric,omitempty"`
	Type         model.MetricType `json:"type"`
	Help         string           `json:"help"`
	Unit         string           `json:"unit"`
}

func matchAll(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (a *API) targetMetadata(r *http.Request) result {
	limit := -1
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			return result{err: badData(errors.New("limit must be a number"))}
		}
	}
	matchTarget := r.FormValue("match_target")
	var ms []*labels.Matcher
	if matchTarget != "" {
		var err error
		if ms, err = a.parser.ParseMetricSelector(matchTarget); err != nil {
			return result{err: invalidParam(err, "match_target")}
		}
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	metric := r.FormValue("metric")
	out := []targetMetadataEntry{}
	for _, ts := range a.targetRetriever().TargetsActive() {
		for _, t := range ts {
			if limit >= 0 && len(out) >= limit {
				break
			}
			tl := t.Labels(b)
			if matchTarget != "" && !matchAll(tl, ms) {
				continue
			}
			if metric == "" {
				for _, md := range t.ListMetadata() {
					out = append(out, targetMetadataEntry{Target: tl, MetricFamily: md.MetricFamily, Type: md.Type, Help: md.Help, Unit: md.Unit})
				}
				continue
			}
			if md, ok := t.GetMetadata(metric); ok {
				out = append(out, targetMetadataEntry{Target: tl, Type: md.Type, Help: md.Help, Unit: md.Unit})
			}
		}
	}
	return result{data: out}
}

func (a *API) metricMetadata(r *http.Request) result {
	limit := -1
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			return result{err: badData(errors.New("limit must be a number"))}
		}
	}
	perMetric := -1
	if s := r.FormValue("limit_per_metric"); s != "" {
		var err error
		if perMetric, err = strconv.Atoi(s); err != nil {
			return result{err: badData(errors.New("limit_per_metric must be a number"))}
		}
	}
	metric := r.FormValue("metric")
	families := map[string]map[metadata.Metadata]struct{}{}
	add := func(family string, m metadata.Metadata) {
		set, ok := families[family]
		if perMetric > 0 && len(set) >= perMetric {
			return
		}
		if !ok {
			set = map[metadata.Metadata]struct{}{}
			families[family] = set
		}
		set[m] = struct{}{}
	}
	for _, ts := range a.targetRetriever().TargetsActive() {
		for _, t := range ts {
			if metric == "" {
				for _, md := range t.ListMetadata() {
					add(md.MetricFamily, metadata.Metadata{Type: md.Type, Help: md.Help, Unit: md.Unit})
				}
				continue
			}
			if md, ok := t.GetMetadata(metric); ok {
				add(md.MetricFamily, metadata.Metadata{Type: md.Type, Help: md.Help, Unit: md.Unit})
			}
		}
	}
	out := map[string][]metadata.Metadata{}
	for name, set := range families {
		if limit >= 0 && len(out) >= limit {
			break
		}
		list := []metadata.Metadata{}
		for m := range set {
			list = append(list, m)
		}
		out[name] = list
	}
	return result{data: out}
}
