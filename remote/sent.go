package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/config"
	upstream "github.com/prometheus/prometheus/storage/remote"
)

// sentSet is the newest timestamp a receiver accepted, per series (by the
// hash of its labels as sent). Samples read again after a restart or a
// drop are skipped up to it: a Prometheus receiver rejects a whole RW 1.0
// request holding one sample older than what it has.
type sentSet struct {
	mu  sync.Mutex
	max map[uint64]int64
	// journal, when open, gets every accepted request's pairs
	// (sent_journal.go); writeSent empties it.
	journal *os.File
	// Scratch space of observe.
	raw     []byte
	buf     []byte
	symbols [][]byte
	pairs   []sentPair
	rec     []byte
	payload []byte
}

// sentPair is one series' newest accepted timestamp.
type sentPair struct {
	h uint64
	t int64
}

func newSentSet() *sentSet { return &sentSet{max: map[uint64]int64{}} }

func (s *sentSet) newest(h uint64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.max[h]
	return t, ok
}

func (s *sentSet) note(h uint64, t int64) {
	if cur, ok := s.max[h]; !ok || t > cur {
		s.max[h] = t
	}
}

// observe records what a request the receiver accepted held.
func (s *sentSet) observe(compressed []byte, proto remoteapi.WriteMessageType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	if cap(s.raw) < n {
		s.raw = make([]byte, n)
	}
	raw, err := snappy.Decode(s.raw[:n], compressed)
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	s.pairs = s.pairs[:0]
	note := s.noteJournaled
	if s.journal == nil {
		note = s.note
	}
	if proto == remoteapi.WriteV2MessageType {
		s.buf, s.symbols, err = scanV2(raw, s.buf, s.symbols, note)
	} else {
		s.buf, err = scanV1(raw, s.buf, note)
	}
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if s.journal != nil && len(s.pairs) > 0 {
		s.rec, s.payload = appendJournalRecord(s.rec[:0], s.payload, s.pairs)
		if _, err := s.journal.Write(s.rec); err != nil {
			return fmt.Errorf("sent journal: %w", err)
		}
	}
	return nil
}

// noteJournaled is note, keeping the pair for the journal record.
func (s *sentSet) noteJournaled(h uint64, t int64) {
	s.note(h, t)
	s.pairs = append(s.pairs, sentPair{h, t})
}

// sentMagic starts a sent file: then uvarint(count) and count pairs of
// (hash uint64 LE, timestamp varint).
const sentMagic = "mytsdb-remote-write-sent v1\n"

func (s *sentSet) encode() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.encodeLocked()
}

func (s *sentSet) encodeLocked() []byte {
	b := append([]byte(sentMagic), binary.AppendUvarint(nil, uint64(len(s.max)))...)
	for h, t := range s.max {
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.AppendVarint(b, t)
	}
	return b
}

func decodeSent(b []byte) (*sentSet, error) {
	rest, ok := cutPrefix(b, sentMagic)
	if !ok {
		return nil, errors.New("not a remote write sent file")
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest))/9 {
		return nil, errors.New("bad sent file count")
	}
	rest = rest[k:]
	s := newSentSet()
	for range n {
		if len(rest) < 9 {
			return nil, errors.New("sent file truncated")
		}
		h := binary.LittleEndian.Uint64(rest)
		t, k := binary.Varint(rest[8:])
		if k <= 0 {
			return nil, errors.New("bad sent file timestamp")
		}
		s.note(h, t)
		rest = rest[8+k:]
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes in sent file")
	}
	return s, nil
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return nil, false
	}
	return b[len(p):], true
}

func readSent(path string) (*sentSet, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return newSentSet(), nil
	}
	if err != nil {
		return newSentSet(), fmt.Errorf("remote: read %s: %w", path, err)
	}
	s, err := decodeSent(b)
	if err != nil {
		return newSentSet(), fmt.Errorf("remote: %s: %w", path, err)
	}
	return s, nil
}

// writeSent saves s to path and empties its journal, holding s's lock
// throughout so that no accepted request falls between the two.
func writeSent(path string, s *sentSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, s.encodeLocked(), 0o644); err != nil {
		return fmt.Errorf("remote: write sent set: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("remote: write sent set: %w", err)
	}
	if s.journal != nil {
		if err := s.journal.Truncate(0); err != nil {
			return fmt.Errorf("remote: empty the sent journal: %w", err)
		}
		if _, err := s.journal.Seek(0, 0); err != nil {
			return fmt.Errorf("remote: empty the sent journal: %w", err)
		}
	}
	return nil
}

// trackingClient is the queue's write client, noting what the receiver
// accepted.
type trackingClient struct {
	upstream.WriteClient
	proto remoteapi.WriteMessageType
	sent  *sentSet
}

func (c *trackingClient) Store(ctx context.Context, req []byte, attempt int) (upstream.WriteResponseStats, error) {
	rs, err := c.WriteClient.Store(ctx, req, attempt)
	if err == nil {
		_ = c.sent.observe(req, c.proto) // the request is ours: it decodes
	}
	return rs, err
}

// newTrackingClient builds the client upstream would for rw, wrapped.
func newTrackingClient(name string, rw *config.RemoteWriteConfig, sent *sentSet) (*trackingClient, error) {
	c, err := upstream.NewWriteClient(name, &upstream.ClientConfig{
		URL:              rw.URL,
		WriteProtoMsg:    rw.ProtobufMessage,
		Timeout:          rw.RemoteTimeout,
		HTTPClientConfig: rw.HTTPClientConfig,
		SigV4Config:      rw.SigV4Config,
		AzureADConfig:    rw.AzureADConfig,
		GoogleIAMConfig:  rw.GoogleIAMConfig,
		Headers:          rw.Headers,
		RetryOnRateLimit: rw.QueueConfig.RetryOnRateLimit,
		RoundRobinDNS:    rw.RoundRobinDNS,
	})
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	return &trackingClient{WriteClient: c, proto: rw.ProtobufMessage, sent: sent}, nil
}
