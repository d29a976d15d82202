package loadgen

import (
	"fmt"
	"time"
)

// Protocol is the remote-write protocol version.
type Protocol int

const (
	// V1 is remote write 1.0 (prometheus.WriteRequest).
	V1 Protocol = 1
	// V2 is remote write 2.0 (io.prometheus.write.v2.Request).
	V2 Protocol = 2
)

func (p Protocol) String() string {
	switch p {
	case V1:
		return "1.0"
	case V2:
		return "2.0"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// Config describes a load.
type Config struct {
	Series    int      // active series; series i belongs to host i/SeriesPerHost()
	Senders   int      // concurrent senders; series i is always sent by sender i%Senders
	BatchSize int      // samples per request (Prometheus's max_samples_per_send defaults to 2000)
	Protocol  Protocol // V1 or V2
	// StartMs is the timestamp of round 0, in ms; round r is at StartMs + r*IntervalMs.
	StartMs    int64
	IntervalMs int64
	// Tenant, if set, is sent as X-Scope-OrgID.
	Tenant string
	// Mix chooses the series' labels and values (default MixNode).
	Mix Mix
	// Lockstep makes Run's senders wait for each other at the start of every
	// round, so that no series runs ahead of another by more than one round:
	// what a server with short blocks needs, since it refuses samples older
	// than half a block below its newest ("out of bounds").
	Lockstep bool
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []string
	if c.Series <= 0 {
		errs = append(errs, "Series must be > 0")
	}
	if c.Senders <= 0 {
		errs = append(errs, "Senders must be > 0")
	}
	if c.BatchSize <= 0 {
		errs = append(errs, "BatchSize must be > 0")
	}
	if c.Protocol != V1 && c.Protocol != V2 {
		errs = append(errs, fmt.Sprintf("unknown protocol %d", c.Protocol))
	}
	if c.IntervalMs <= 0 {
		errs = append(errs, "IntervalMs must be > 0")
	}
	if !c.Mix.valid() {
		errs = append(errs, fmt.Sprintf("unknown mix %d", c.Mix))
	}
	if c.StartMs < minTimestamp || c.StartMs >= maxTimestamp {
		errs = append(errs, "StartMs must lie in [2^35, 2^42)")
	}
	if len(errs) > 0 {
		return fmt.Errorf("loadgen: invalid config: %v", errs)
	}
	return nil
}

// batch is one request shape: a fixed list of series, pre-encoded and
// compressed, with the offsets where each sample's value and timestamp live.
type batch struct {
	mix    Mix
	series []int32
	body   []byte  // snappy block; patched in place each round
	patch  []int32 // per series, offset in body of the value (timestamp at +9)
	round  int     // round the body currently holds, -1 if none
}

// Load is a pre-encoded load: the request bodies of every sender.
type Load struct {
	cfg     Config
	senders [][]*batch
	bytes   int // compressed bytes of one round
	setup   time.Duration
}

// New encodes and compresses every request body of cfg once. It takes about a
// second per million series.
func New(cfg Config) (*Load, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	l := &Load{cfg: cfg, senders: make([][]*batch, cfg.Senders)}
	for s := range cfg.Senders {
		var mine []int32
		for i := s; i < cfg.Series; i += cfg.Senders {
			mine = append(mine, int32(i))
		}
		for len(mine) > 0 {
			n := min(cfg.BatchSize, len(mine))
			b, err := newBatch(cfg.Protocol, cfg.Mix, mine[:n:n])
			if err != nil {
				return nil, err
			}
			l.senders[s] = append(l.senders[s], b)
			l.bytes += len(b.body)
			mine = mine[n:]
		}
	}
	l.setup = time.Since(start)
	return l, nil
}

func newBatch(p Protocol, m Mix, series []int32) (*batch, error) {
	var (
		raw     []byte
		regions []region
	)
	if p == V1 {
		raw, regions = encodeV1(m, series)
	} else {
		raw, regions = encodeV2(m, series)
	}
	body, offs, err := encodePatchable(nil, raw, regions)
	if err != nil {
		return nil, err
	}
	return &batch{mix: m, series: series, body: body, patch: offs, round: -1}, nil
}

// setRound patches every sample of b to hold round r's values and timestamp.
func (b *batch) setRound(r int, ts *[tsLen]byte) {
	for k, i := range b.series {
		putSample(b.body[b.patch[k]:], b.mix.Value(int(i), r), ts)
	}
	b.round = r
}

// Config returns the load's configuration.
func (l *Load) Config() Config { return l.cfg }

// Timestamp returns the timestamp (ms) of round r.
func (l *Load) Timestamp(r int) int64 { return l.cfg.StartMs + int64(r)*l.cfg.IntervalMs }

// Senders returns the number of senders.
func (l *Load) Senders() int { return len(l.senders) }

// Batches returns the number of requests sender s sends per round.
func (l *Load) Batches(s int) int { return len(l.senders[s]) }

// BatchSeries returns the series of sender s's batch b, in request order.
func (l *Load) BatchSeries(s, b int) []int32 { return l.senders[s][b].series }

// CompressedBytesPerRound is the size of all request bodies of one round.
func (l *Load) CompressedBytesPerRound() int { return l.bytes }

// SetupTime is how long New took to encode and compress the bodies.
func (l *Load) SetupTime() time.Duration { return l.setup }

// Body returns the compressed body sender s sends as batch b of round r. The
// slice is overwritten by the next Body or Run for that batch.
func (l *Load) Body(s, b, r int) ([]byte, error) {
	var ts [tsLen]byte
	if err := putTimestamp(ts[:], l.Timestamp(r)); err != nil {
		return nil, err
	}
	bt := l.senders[s][b]
	bt.setRound(r, &ts)
	return bt.body, nil
}
