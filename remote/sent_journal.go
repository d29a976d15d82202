package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
)

// The sent journal makes the sent set survive a crash (SIGKILL) between
// two saves of the sent file: every request the receiver accepted appends
// its (series hash, newest timestamp) pairs to <queue hash>.sent.journal
// with one write(2), before the queue moves on; a save of the sent file
// empties it. After a crash the follower reads the sent file, then the
// journal, and so skips what the receiver has up to the last request
// accepted, instead of up to the last save: re-sent samples older than
// what a Prometheus receiver has make it refuse the whole RW 1.0 request,
// and with it the new samples in it.
//
// Record: uvarint(payload length), payload (uvarint(count), count pairs of
// hash uint64 LE and timestamp varint), CRC32C of the payload (uint32 LE).
// Reading stops at the first torn or damaged record. The journal is not
// fsynced: it is for a process crash, not for a power loss (after which
// samples may be sent twice, as before it existed).

var journalCRC = crc32.MakeTable(crc32.Castagnoli)

// journalPath is the journal beside a sent file.
func journalPath(sentFile string) string { return sentFile + ".journal" }

// appendJournalRecord appends one record of pairs to dst.
func appendJournalRecord(dst, scratch []byte, pairs []sentPair) ([]byte, []byte) {
	p := binary.AppendUvarint(scratch[:0], uint64(len(pairs)))
	for _, e := range pairs {
		p = binary.LittleEndian.AppendUint64(p, e.h)
		p = binary.AppendVarint(p, e.t)
	}
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	dst = append(dst, p...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(p, journalCRC))
	return dst, p
}

// replayJournal notes into s every pair of the whole records of b and
// returns how many bytes they span.
func replayJournal(s *sentSet, b []byte) int {
	off := 0
	for off < len(b) {
		n, k := binary.Uvarint(b[off:])
		if k <= 0 || n > uint64(len(b)-off-k) || uint64(len(b)-off-k)-n < 4 {
			break
		}
		p := b[off+k : off+k+int(n)]
		if binary.LittleEndian.Uint32(b[off+k+int(n):]) != crc32.Checksum(p, journalCRC) {
			break
		}
		count, c := binary.Uvarint(p)
		if c <= 0 {
			break
		}
		p = p[c:]
		ok := true
		for range count {
			if len(p) < 9 {
				ok = false
				break
			}
			h := binary.LittleEndian.Uint64(p)
			t, tk := binary.Varint(p[8:])
			if tk <= 0 {
				ok = false
				break
			}
			s.note(h, t)
			p = p[8+tk:]
		}
		if !ok || len(p) != 0 {
			break
		}
		off += k + int(n) + 4
	}
	return off
}

// openJournal reads the journal of sentFile into s and opens it for
// appending, cut to its whole records.
func openJournal(s *sentSet, sentFile string) error {
	path := journalPath(sentFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remote: read %s: %w", path, err)
	}
	end := replayJournal(s, b)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("remote: open %s: %w", path, err)
	}
	if err := f.Truncate(int64(end)); err != nil {
		f.Close()
		return fmt.Errorf("remote: %s: %w", path, err)
	}
	if _, err := f.Seek(int64(end), 0); err != nil {
		f.Close()
		return fmt.Errorf("remote: %s: %w", path, err)
	}
	s.mu.Lock()
	s.journal = f
	s.mu.Unlock()
	return nil
}

// journaled reports whether the journal holds records (the sent file
// saved last lacks them).
func (s *sentSet) journaled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return false
	}
	off, err := s.journal.Seek(0, 1)
	return err != nil || off > 0
}

// closeJournal closes the journal (the sent file saved last holds it all).
func (s *sentSet) closeJournal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	err := s.journal.Close()
	s.journal = nil
	return err
}
