package compare

import "strings"

// Exemption removes from both responses (or, with CandidateOnly, from the
// candidate's) something that legitimately differs between two correct
// servers. This table is the ONLY place where the harness forgives a
// difference; every entry says why.
type Exemption struct {
	// Path is the API path it applies to; "" means every path.
	Path string
	// CandidateOnly applies it to the candidate's response only: for what
	// mytsdb has and Prometheus has not (the reference keeps the field, so
	// a reference that grew the same field would still be compared).
	CandidateOnly bool
	// StructuralOnly limits it to structurally compared cases (scraped data).
	StructuralOnly bool
	// UnorderedOnly limits it to cases marked "unordered" in the corpus:
	// queries whose result order Prometheus itself leaves to map iteration.
	UnorderedOnly bool
	// BlocksOnly limits it to the short-block mode (compliance.Options.Blocks),
	// where the data is spread over the head and blocks that each server
	// cuts and compacts on its own schedule.
	BlocksOnly bool
	// Field is a dotted path into the JSON body; "*" matches every element
	// of an array or every value of an object.
	Field string
	// Action: "drop" deletes the field, "null" replaces it by null, "sort"
	// sorts the array it names, "tiesort" sorts only the runs of elements
	// with equal "value" fields of the array it names.
	Action string
	Reason string
}

// Exemptions is the complete list.
var Exemptions = []Exemption{
	{Path: "", Field: "warnings", Action: "sort",
		Reason: "Prometheus builds warnings by ranging over a Go map (util/annotations.AsStrings), so their order differs run to run"},
	{Path: "", Field: "infos", Action: "sort",
		Reason: "same as warnings: map iteration order"},

	{Path: "/api/v1/query", Field: "data.stats.timings", Action: "drop", Reason: "query timings (stats=...) are wall-clock measurements"},
	{Path: "/api/v1/query_range", Field: "data.stats.timings", Action: "drop", Reason: "query timings (stats=...) are wall-clock measurements"},

	{Path: "/api/v1/query", UnorderedOnly: true, Field: "data.result", Action: "sort",
		Reason: "the case is marked unordered: Prometheus returns this instant vector in map order (count_values, classic histogram_quantile/histogram_fraction), so only the set of series is defined"},
	{Path: "/api/v1/query", StructuralOnly: true, Field: "data.result", Action: "sort",
		Reason: "an instant vector comes in the head's series-creation order, and scraped series are created in whatever order the concurrent scrapes finish"},
	{Path: "/api/v1/series", StructuralOnly: true, Field: "data", Action: "sort",
		Reason: "series come in the head's series-creation order, which for scraped series depends on which concurrent scrape finished first"},
	{Path: "/api/v1/targets", StructuralOnly: true, Field: "data.activeTargets", Action: "sort",
		Reason: "pools are sorted, but the targets within one pool come in target-map order"},
	{Path: "/api/v1/targets", StructuralOnly: true, Field: "data.droppedTargets", Action: "sort",
		Reason: "same as activeTargets"},
	{Path: "/api/v1/targets/metadata", StructuralOnly: true, Field: "data", Action: "sort",
		Reason: "Prometheus lists target metadata in scrape-pool and metadata-cache map order"},

	{Path: "/api/v1/status/buildinfo", Field: "data.version", Action: "drop", Reason: "different binaries"},
	{Path: "/api/v1/status/buildinfo", Field: "data.revision", Action: "drop", Reason: "different binaries"},
	{Path: "/api/v1/status/buildinfo", Field: "data.branch", Action: "drop", Reason: "different binaries"},
	{Path: "/api/v1/status/buildinfo", Field: "data.buildUser", Action: "drop", Reason: "different binaries"},
	{Path: "/api/v1/status/buildinfo", Field: "data.buildDate", Action: "drop", Reason: "different binaries"},
	{Path: "/api/v1/status/buildinfo", Field: "data.goVersion", Action: "drop", Reason: "different binaries may use different Go releases"},

	{Path: "/api/v1/status/runtimeinfo", Field: "data.serverTime", Action: "drop", Reason: "the clock at the instant of the request"},
	{Path: "/api/v1/status/runtimeinfo", Field: "data.startTime", Action: "drop", Reason: "the processes start at different instants"},
	{Path: "/api/v1/status/runtimeinfo", Field: "data.CWD", Action: "drop", Reason: "each server runs in its own temporary directory"},
	{Path: "/api/v1/status/runtimeinfo", Field: "data.lastConfigTime", Action: "drop", Reason: "configs are loaded at different instants"},
	{Path: "/api/v1/status/runtimeinfo", Field: "data.goroutineCount", Action: "drop", Reason: "implementation detail that fluctuates"},

	{Path: "/api/v1/status/flags", Field: "data.storage\\.tsdb\\.path", Action: "drop", Reason: "each server has its own temporary data directory"},
	{Path: "/api/v1/status/flags", Field: "data.web\\.listen-address", Action: "drop", Reason: "each server listens on its own free port"},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.wal\\.sync", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.wal\\.sync-interval", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.wal\\.writer", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.prometheus-data\\.keep", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.parquet\\.enabled", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.parquet\\.bucket-config-file", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.parquet\\.local-retention", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.parquet\\.retention", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.storage\\.parquet\\.cache-size", Action: "drop", Reason: ownFlags},
	{Path: "/api/v1/status/flags", CandidateOnly: true, Field: "data.rules\\.tenant-dir", Action: "drop", Reason: ownFlags},

	{Path: "/api/v1/status/tsdb", Field: "data.seriesCountByMetricName", Action: "tiesort", Reason: tieReason},
	{Path: "/api/v1/status/tsdb", Field: "data.labelValueCountByLabelName", Action: "tiesort", Reason: tieReason},
	{Path: "/api/v1/status/tsdb", Field: "data.memoryInBytesByLabelName", Action: "tiesort", Reason: tieReason},
	{Path: "/api/v1/status/tsdb", Field: "data.seriesCountByLabelValuePair", Action: "tiesort", Reason: tieReason},
	{Path: "/api/v1/status/tsdb", StructuralOnly: true, Field: "data.headStats.chunkCount", Action: "drop", Reason: "head chunk cutting is storage-specific"},
	{Path: "/api/v1/status/tsdb", StructuralOnly: true, Field: "data.headStats.maxTime", Action: "drop", Reason: "the last scrape happened at different instants"},
	{Path: "/api/v1/status/tsdb", StructuralOnly: true, Field: "data.memoryInBytesByLabelName", Action: "drop", Reason: "memory accounting is storage-specific"},

	{Path: "/api/v1/status/tsdb/blocks", BlocksOnly: true, Field: "data.blocks.*.ulid", Action: "null", Reason: ulidReason},
	{Path: "/api/v1/status/tsdb/blocks", BlocksOnly: true, Field: "data.blocks.*.compaction.sources.*", Action: "null", Reason: ulidReason},
	{Path: "/api/v1/status/tsdb/blocks", BlocksOnly: true, Field: "data.blocks.*.compaction.parents.*.ulid", Action: "null", Reason: ulidReason},

	{Path: "/api/v1/targets", StructuralOnly: true, Field: "data.activeTargets.*.lastScrape", Action: "drop", Reason: "scrapes happen at different instants"},
	{Path: "/api/v1/targets", StructuralOnly: true, Field: "data.activeTargets.*.lastScrapeDuration", Action: "drop", Reason: "scrape durations differ"},

	{Path: "/api/v1/rules", Field: "data.groups.*.lastEvaluation", Action: "null", Reason: evalReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.evaluationTime", Action: "null", Reason: evalReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.rules.*.lastEvaluation", Action: "null", Reason: evalReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.rules.*.evaluationTime", Action: "null", Reason: evalReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.rules.*.alerts.*.activeAt", Action: "null", Reason: activeReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.rules.*.alerts.*.keepFiringSince", Action: "null", Reason: activeReason},
	{Path: "/api/v1/rules", Field: "data.groups.*.rules.*.alerts", Action: "sort", Reason: alertOrderReason},
	{Path: "/api/v1/alerts", Field: "data.alerts.*.activeAt", Action: "null", Reason: activeReason},
	{Path: "/api/v1/alerts", Field: "data.alerts.*.keepFiringSince", Action: "null", Reason: activeReason},
	{Path: "/api/v1/alerts", Field: "data.alerts", Action: "sort", Reason: "Prometheus lists the alerts of every alerting rule of every group ranging over its map of groups, then each rule's map of active alerts (rules.Manager.AlertingRules, AlertingRule.ActiveAlerts)"},

	{Path: "/api/v1/query", StructuralOnly: true, Field: "data.result.*.value.0", Action: "null", Reason: "scraped samples carry each server's own scrape timestamps"},
}

const evalReason = "lastEvaluation is the wall-clock instant a server began the evaluation and evaluationTime how long it took, measured by each server on its own; states, health, errors, labels, annotations, values, intervals and limits are compared"

const activeReason = "an alert's activeAt (and keepFiringSince) is the evaluation instant of the server that saw it first, on that server's own schedule; the state and value are compared, and the phase waits until both agree on the state"

const alertOrderReason = "Prometheus lists a rule's alerts ranging over its map of active alerts (AlertingRule.ActiveAlerts), so their order differs run to run"

const ownFlags = "mytsdb's own flags, which Prometheus does not have (the WAL's sync policy, sync interval and writer; keeping a Prometheus data directory read-only; the Parquet tier's switch, bucket config, local and bucket retention, cache size; the per-tenant rule directory)"

const ulidReason = "in the short-block mode both servers hold blocks, and each names its blocks with ULIDs made of its own clock and randomness. The rest of each block's entry (time range, stats, level, how many sources and parents, their ranges) is compared exactly: the mode waits until both layouts are settled and no head cut is due (compliance.WaitBlocks, BlocksBase), so they are a function of the data. Outside that mode both lists are empty"

const tieReason = "Prometheus sorts these top lists by count only (tsdb/index.maxHeap.get); entries with equal counts come in map order. The order of the counts is still compared"

// ComparedHeaders are the response headers compared; every other header
// (Date, Content-Length, ...) may legitimately differ or follows from the body.
var ComparedHeaders = []string{
	"Content-Type",
	"Content-Encoding",
	"X-Prometheus-Remote-Write-Samples-Written",
	"X-Prometheus-Remote-Write-Histograms-Written",
	"X-Prometheus-Remote-Write-Exemplars-Written",
}

// Mode says how a case is compared.
type Mode struct {
	Structural bool // scraped data: StructuralOnly exemptions apply
	Unordered  bool // result order undefined in Prometheus: UnorderedOnly exemptions apply
	Blocks     bool // the short-block mode: BlocksOnly exemptions apply
}

// normalize applies the exemptions for path to a parsed body; candidate says
// whether it is the candidate's (CandidateOnly exemptions apply to it only).
func normalize(root *node, path string, m Mode, candidate bool) {
	// Sorting comes after dropping and nulling, so that exempted fields
	// never decide an order.
	for _, sorting := range []bool{false, true} {
		for _, e := range Exemptions {
			if (e.Path != "" && e.Path != path) || (e.StructuralOnly && !m.Structural) || (e.UnorderedOnly && !m.Unordered) || (e.BlocksOnly && !m.Blocks) || (e.CandidateOnly && !candidate) {
				continue
			}
			if isSort := e.Action == "sort" || e.Action == "tiesort"; isSort == sorting {
				apply(root, splitField(e.Field), e.Action)
			}
		}
	}
}

// splitField splits on dots not preceded by a backslash.
func splitField(f string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '\\' && i+1 < len(f):
			i++
			cur.WriteByte(f[i])
		case f[i] == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(f[i])
		}
	}
	return append(parts, cur.String())
}

func apply(n *node, path []string, action string) {
	if n == nil || len(path) == 0 {
		return
	}
	head, last := path[0], len(path) == 1
	for i := range n.vals {
		if !matches(n, i, head) {
			continue
		}
		if !last {
			apply(n.vals[i], path[1:], action)
			continue
		}
		switch action {
		case "drop":
			if n.kind == 'o' {
				n.del(n.keys[i])
				return
			}
		case "null":
			n.vals[i] = &node{kind: 'z'}
		case "sort":
			n.vals[i].sortArray()
		case "tiesort":
			n.vals[i].sortTies()
		}
	}
}

func matches(n *node, i int, head string) bool {
	if head == "*" {
		return true
	}
	if n.kind == 'o' {
		return n.keys[i] == head
	}
	return n.kind == 'a' && head == itoa(i)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
