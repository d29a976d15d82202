package remote

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	upstream "github.com/prometheus/prometheus/storage/remote"
	"go.yaml.in/yaml/v2"

	"mytsdb/storage/wal"
)

// Options configure the remote storage.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Local is the storage scraped and rule data go to (the default tenant);
	// WAL is its write-ahead log and Dir its directory (positions and the
	// idle upstream watchers' WAL go to Dir/remote_write).
	Local promstorage.Storage
	WAL   *wal.WAL
	Dir   string
	// FlushDeadline is --storage.remote.flush-deadline.
	FlushDeadline time.Duration
	// ScrapeManager gives RW 1.0 metadata_config.send the scrape targets'
	// metadata, as in Prometheus.
	ScrapeManager           upstream.ReadyScrapeManager
	EnableTypeAndUnitLabels bool
	// Poll is how often a follower that has read everything looks for more
	// (default 100ms). SaveEvery is how often it saves its position
	// (default 1s).
	Poll      time.Duration
	SaveEvery time.Duration
}

// Storage is the remote_write and remote_read side of the configuration.
type Storage struct {
	o      Options
	dir    string
	reg    *capturingRegisterer
	rs     *upstream.Storage
	fanout promstorage.Storage
	gaps   *prometheus.CounterVec
	// forwarded collects upstream's default-registry counters.
	forwarded prometheus.Collector

	mu        sync.Mutex // serialises ApplyConfig and Close
	followers map[*upstream.QueueManager]*follower
	closed    bool
	prepared  bool // the idle watchers' WAL exists
}

// New prepares the remote storage; nothing is sent or read before
// ApplyConfig.
func New(o Options) (*Storage, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = time.Second
	}
	if o.Local == nil || o.WAL == nil || o.Dir == "" {
		return nil, errors.New("remote: Local, WAL and Dir are required")
	}
	dir := filepath.Join(o.Dir, "remote_write")
	s := &Storage{o: o, dir: dir, reg: newCapturingRegisterer(o.Registerer), followers: map[*upstream.QueueManager]*follower{}}
	s.gaps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mytsdb_remote_storage_wal_gaps_total",
		Help: "Times a remote write queue skipped WAL segments a checkpoint deleted before they were sent.",
	}, []string{"remote_name"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(s.gaps); err != nil {
			return nil, fmt.Errorf("remote: register metrics: %w", err)
		}
		s.forwarded = defaultCounters{g: prometheus.DefaultGatherer}
		if err := o.Registerer.Register(s.forwarded); err != nil {
			return nil, fmt.Errorf("remote: register metrics: %w", err)
		}
	}
	s.rs = upstream.NewStorage(o.Logger.With("component", "remote"), s.reg, o.Local.StartTime, dir, o.FlushDeadline, o.ScrapeManager, o.EnableTypeAndUnitLabels)
	s.fanout = promstorage.NewFanout(o.Logger, o.Local, s.rs)
	return s, nil
}

// idleWatcherWAL makes dir an empty Prometheus-format WAL (one empty
// segment) for upstream's watchers to tail without ever reading anything.
func idleWatcherWAL(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remote: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000"), nil, 0o644); err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	return nil
}

// Fanout is the local storage with the remote ones beside it, as
// Prometheus's fanout storage: queries merge the local data with the
// remote_read endpoints' (best effort), appends go to the local storage
// and update upstream's ingestion rate and highest timestamp, which its
// resharding uses. Its Close must not be called (the owners close).
func (s *Storage) Fanout() promstorage.Storage { return s.fanout }

// ApplyConfig applies remote_write and remote_read: upstream starts and
// stops queue managers (only those whose configuration changed), and every
// new queue manager gets a follower of the WAL.
func (s *Storage) ApplyConfig(conf *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("remote: storage closed")
	}
	// The directory is made when a queue first needs it, so that a server
	// without remote_write has none.
	if len(conf.RemoteWriteConfigs) > 0 && !s.prepared {
		if err := idleWatcherWAL(filepath.Join(s.dir, "wal")); err != nil {
			return err
		}
		s.prepared = true
	}
	if err := s.rs.ApplyConfig(conf); err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	qms, err := queueManagers(s.rs)
	if err != nil {
		return err
	}
	// Followers of queue managers upstream stopped end (their Append
	// returns false) and save where they are.
	for qm, f := range s.followers {
		if _, kept := findQueue(qms, qm); !kept {
			f.halt()
			f.finish()
			delete(s.followers, qm)
		}
	}
	keep := map[string]bool{}
	for _, rw := range conf.RemoteWriteConfigs {
		hash, err := configHash(rw)
		if err != nil {
			return fmt.Errorf("remote: %w", err)
		}
		keep[hash] = true
		qm, ok := qms[hash]
		if !ok {
			return fmt.Errorf("remote: no upstream queue for remote_write %s (upstream changed its config hash: update configHash)", rw.URL)
		}
		name := rw.Name
		if name == "" {
			name = hash[:6]
		}
		if f, running := s.followers[qm]; running {
			if err := s.track(qm, rw, name, f.o.Sent); err != nil {
				return err
			}
			continue
		}
		if err := s.follow(qm, rw, conf.GlobalConfig.ExternalLabels, name, hash); err != nil {
			return err
		}
	}
	s.removeStalePositions(keep)
	// Every follower now holds what it still needs: the segments the WAL
	// kept from its Open on for them (storage.Options.DefaultWALHold) may
	// go at the next checkpoint.
	s.o.WAL.ReleaseOpenHold()
	return nil
}

func findQueue(qms map[string]*upstream.QueueManager, qm *upstream.QueueManager) (string, bool) {
	for h, q := range qms {
		if q == qm {
			return h, true
		}
	}
	return "", false
}

// follow starts the follower of a new queue manager: from its saved
// position, or from the end of the WAL for a queue never seen (a new queue
// sends what comes from now on, as in Prometheus).
func (s *Storage) follow(qm *upstream.QueueManager, rw *config.RemoteWriteConfig, ext labels.Labels, name, hash string) error {
	path := positionPath(s.dir, hash)
	st, resumed, err := readPosition(path)
	if err != nil {
		s.o.Logger.Warn("Ignoring an unreadable remote write position; the queue starts at the end of the WAL", "err", err)
	}
	sent := newSentSet()
	if resumed {
		if sent, err = readSent(sentPath(s.dir, hash)); err != nil {
			s.o.Logger.Warn("Ignoring an unreadable remote write sent set; samples may be sent twice", "err", err)
		}
		// What the previous process handed over after it last saved Handed
		// (up to where its WAL ended) may have been sent too: checked
		// against the sent set (with its journal) as well, so that a crash
		// sends again only what the receiver does not have.
		if w := s.o.WAL.Written(); st.Handed.Less(w) {
			st.Handed = w
		}
	} else {
		w := s.o.WAL.Written()
		st = saved{Safe: w, Handed: w}
		if err := writePosition(path, st); err != nil {
			return err
		}
	}
	if err := openJournal(sent, sentPath(s.dir, hash)); err != nil {
		s.o.Logger.Warn("Remote write cannot keep its sent journal; after a crash, samples may be sent twice", "err", err)
	}
	logger := s.o.Logger.With("component", "remote", "remote_name", name)
	// The metrics of this queue manager, taken now: a later one of the same
	// name (after a reload) registers its own.
	counts := s.reg.queue(name)
	f := newFollower(followerOptions{
		Name:           name,
		WAL:            s.o.WAL,
		To:             qm,
		Counts:         func() queueCounts { return counts },
		PosFile:        path,
		Poll:           s.o.Poll,
		Logger:         logger,
		Gaps:           s.gaps.WithLabelValues(name),
		Resumed:        resumed,
		Start:          st.Safe,
		Handed:         st.Handed,
		Sent:           sent,
		SentFile:       sentPath(s.dir, hash),
		ExternalLabels: ext,
		Relabel:        rw.WriteRelabelConfigs,
		SaveEach:       s.o.SaveEvery,
	})
	if resumed {
		logger.Info("Remote write resumes from its saved WAL position", "segment", st.Safe.Segment, "offset", st.Safe.Offset)
	}
	if err := s.track(qm, rw, name, sent); err != nil {
		return err
	}
	s.followers[qm] = f
	f.start()
	return nil
}

// track gives the queue manager a client that notes what the receiver
// accepted into sent (upstream sets its own client on every reload).
func (s *Storage) track(qm *upstream.QueueManager, rw *config.RemoteWriteConfig, name string, sent *sentSet) error {
	c, err := newTrackingClient(name, rw, sent)
	if err != nil {
		return err
	}
	qm.SetClient(c)
	return nil
}

// removeStalePositions deletes the positions of queues no longer configured.
func (s *Storage) removeStalePositions(keep map[string]bool) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		hash, ok := strings.CutSuffix(e.Name(), ".position")
		if !ok {
			hash, ok = strings.CutSuffix(e.Name(), ".sent")
		}
		if !ok {
			hash, ok = strings.CutSuffix(e.Name(), ".sent.journal")
		}
		if ok && !keep[hash] {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// configHash is upstream's queue key for a remote_write config (an MD5 of
// its YAML, storage/remote's toHash).
func configHash(c *config.RemoteWriteConfig) (string, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	h := md5.Sum(b)
	return hex.EncodeToString(h[:]), nil
}

// Close stops the queues, flushing each for at most the flush deadline,
// and saves every follower's position.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var wg sync.WaitGroup
	for _, f := range s.followers {
		wg.Add(1)
		go func() { defer wg.Done(); f.halt() }()
	}
	err := s.rs.Close() // unblocks followers waiting in a full queue
	wg.Wait()
	for _, f := range s.followers {
		f.finish()
	}
	if s.o.Registerer != nil {
		s.o.Registerer.Unregister(s.gaps)
		s.o.Registerer.Unregister(s.forwarded)
	}
	if err != nil {
		return fmt.Errorf("remote: close: %w", err)
	}
	return nil
}
