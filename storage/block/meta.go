package block

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/oklog/ulid/v2"

	"mytsdb/storage/crashpoint"
)

// MetaVersion is the version written in meta.json (Prometheus's meta
// version 1; the shape is the same).
const MetaVersion = 1

const (
	metaFilename = "meta.json"
	tmpSuffix    = ".tmp-for-creation"
	delSuffix    = ".tmp-for-deletion"
)

// Meta is a block's meta.json. Its JSON has the shape of Prometheus's
// tsdb.BlockMeta, so /api/v1/status/tsdb/blocks can serve it as is.
type Meta struct {
	ULID       ulid.ULID  `json:"ulid"`
	MinTime    int64      `json:"minTime"` // inclusive, ms
	MaxTime    int64      `json:"maxTime"` // exclusive, ms (Prometheus's convention for block meta)
	Stats      Stats      `json:"stats"`
	Compaction Compaction `json:"compaction"`
	Version    int        `json:"version"`
}

// Stats counts what a block holds. NumTombstones is the number of deleted
// intervals (over all series), as in Prometheus.
type Stats struct {
	NumSamples          uint64 `json:"numSamples,omitempty"`
	NumFloatSamples     uint64 `json:"numFloatSamples,omitempty"`
	NumHistogramSamples uint64 `json:"numHistogramSamples,omitempty"`
	NumSeries           uint64 `json:"numSeries,omitempty"`
	NumChunks           uint64 `json:"numChunks,omitempty"`
	NumTombstones       uint64 `json:"numTombstones,omitempty"`
}

// BlockDesc names a parent block of a compaction.
type BlockDesc struct {
	ULID    ulid.ULID `json:"ulid"`
	MinTime int64     `json:"minTime"`
	MaxTime int64     `json:"maxTime"`
}

// Compaction records how a block was made.
type Compaction struct {
	Level   int         `json:"level"`
	Sources []ulid.ULID `json:"sources,omitempty"`
	Parents []BlockDesc `json:"parents,omitempty"`
	Failed  bool        `json:"failed,omitempty"`
}

// IsTmpDir reports whether name (a directory's base name) is a block being
// written, <ULID>.tmp-for-creation, or being removed,
// <ULID>.tmp-for-deletion: it is never a block, and a caller may remove it
// at startup.
func IsTmpDir(name string) bool {
	u, ok := strings.CutSuffix(name, tmpSuffix)
	if !ok {
		if u, ok = strings.CutSuffix(name, delSuffix); !ok {
			return false
		}
	}
	_, err := ulid.ParseStrict(u)
	return err == nil
}

// Remove deletes the block directory dir (closed first): it is renamed to
// <ULID>.tmp-for-deletion and the rename synced before anything is removed,
// so that a crash leaves either the whole block or a leftover IsTmpDir
// reports.
func Remove(dir string) error {
	tmp := dir + delSuffix
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("block: remove %s: %w", dir, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("block: remove %s: %w", dir, err)
	}
	crashpoint.Reach(crashpoint.RetentionRenamed)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("block: remove %s: %w", dir, err)
	}
	return nil
}

// ParseDirName returns the ULID of a block directory's base name; ok is
// false for anything else, including tmp directories.
func ParseDirName(name string) (ulid.ULID, bool) {
	u, err := ulid.ParseStrict(name)
	return u, err == nil
}

// The checksum trailer of meta.json: the file is the indented JSON of Meta
// with one more last member, "crc32c", holding the CRC-32C (8 lowercase hex
// digits) of every byte before metaSumPrefix. It stays valid JSON.
const (
	metaSumPrefix = ",\n\t\"crc32c\": \""
	metaSumSuffix = "\"\n}\n"
	metaSumLen    = len(metaSumPrefix) + 8 + len(metaSumSuffix)
)

// encodeMeta returns the bytes of meta.json for m.
func encodeMeta(m *Meta) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return nil, err
	}
	// MarshalIndent ends an object with "\n}".
	body, ok := bytes.CutSuffix(b, []byte("\n}"))
	if !ok {
		return nil, fmt.Errorf("block: unexpected meta JSON ending")
	}
	out := make([]byte, 0, len(body)+metaSumLen)
	out = append(out, body...)
	out = append(out, metaSumPrefix...)
	out = fmt.Appendf(out, "%08x", crc32c(body))
	out = append(out, metaSumSuffix...)
	return out, nil
}

// decodeMeta parses meta.json's bytes; file names it in errors. Every
// problem, a checksum mismatch or bad JSON, wraps ErrCorrupt.
func decodeMeta(file string, b []byte) (Meta, error) {
	var m Meta
	if len(b) < metaSumLen {
		return m, corruptf(file, int64(len(b)), "too short for the checksum trailer")
	}
	n := len(b) - metaSumLen
	body, trailer := b[:n], b[n:]
	if !bytes.HasPrefix(trailer, []byte(metaSumPrefix)) || !bytes.HasSuffix(trailer, []byte(metaSumSuffix)) {
		return m, corruptf(file, int64(n), "no checksum trailer")
	}
	hexSum := trailer[len(metaSumPrefix) : len(metaSumPrefix)+8]
	var sum [4]byte
	if _, err := hex.Decode(sum[:], hexSum); err != nil || !bytes.Equal(bytes.ToLower(hexSum), hexSum) {
		return m, corruptf(file, int64(n+len(metaSumPrefix)), "bad checksum digits %q", hexSum)
	}
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if got := crc32c(body); got != want {
		return m, corruptf(file, 0, "checksum mismatch: computed %08x, stored %08x", got, want)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, &CorruptError{File: file, Offset: -1, Reason: "bad JSON", Err: err}
	}
	if m.Version != MetaVersion {
		return m, corruptf(file, -1, "unsupported meta version %d", m.Version)
	}
	if m.MinTime >= m.MaxTime {
		return m, corruptf(file, -1, "empty time range [%d, %d)", m.MinTime, m.MaxTime)
	}
	return m, nil
}

func readMeta(dir string) (Meta, error) {
	file := filepath.Join(dir, metaFilename)
	b, err := os.ReadFile(file)
	if err != nil {
		return Meta{}, err
	}
	return decodeMeta(file, b)
}

// writeMeta writes dir/meta.json atomically: a tmp file, fsync, rename,
// fsync of dir.
func writeMeta(dir string, m *Meta) error {
	b, err := encodeMeta(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, metaFilename, b)
}
