package parquetstore

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/oklog/ulid/v2"
)

// SchemaVersion is the version of SCHEMA.md a block's objects follow. A
// reader refuses a block with a newer version.
const SchemaVersion = 1

// Object names inside <tenant>/<ULID>/.
const (
	MetaFile       = "meta.json"
	SeriesFile     = "series.parquet"
	SamplesFile    = "samples.parquet"
	HistogramsFile = "histograms.parquet"
)

// BlockMeta is one Parquet block's meta.json (written last: its presence
// marks a complete block).
type BlockMeta struct {
	ULID       ulid.ULID   `json:"ulid"`    // same ULID as the local block it came from
	MinTime    int64       `json:"minTime"` // ms, inclusive
	MaxTime    int64       `json:"maxTime"` // ms, exclusive (as our block metas)
	NumSeries  uint64      `json:"numSeries"`
	NumSamples uint64      `json:"numSamples"`
	Level      int         `json:"level"`             // compaction level of the source block
	Sources    []ulid.ULID `json:"sources,omitempty"` // source block ULIDs
	// Parents are the bucket blocks this one replaces (a block rewritten
	// without the series delete_series deleted): once this block is
	// complete they are ignored by every reader and left for deletion.
	Parents []ulid.ULID `json:"parents,omitempty"`

	// Filled in by Write; a caller passes them empty.
	NumFloatSamples     uint64     `json:"numFloatSamples"`
	NumHistogramSamples uint64     `json:"numHistogramSamples"`
	SchemaVersion       int        `json:"schemaVersion"`
	Files               []FileMeta `json:"files,omitempty"`
}

// FileMeta describes one data object of a block.
type FileMeta struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// CRC32C (Castagnoli) of the whole object, lower-case hex.
	CRC32C string `json:"crc32c"`
	// TailOffset is where the object's page indexes and footer begin: a
	// reader fetches [TailOffset, Size) in one GetRange to open the file.
	TailOffset int64 `json:"tailOffset"`
	// FooterOffset is where the footer (FileMetaData and the trailing
	// length and magic) begins: a querier opens the file with one GetRange
	// of [FooterOffset, Size) and fetches only the page indexes of the row
	// groups and columns a query touches. 0 (older metas) means TailOffset.
	FooterOffset int64 `json:"footerOffset,omitempty"`
	Rows         int64 `json:"rows"`
}

// footerStart is where a reader's first GetRange of the file begins.
func (f FileMeta) footerStart() int64 {
	if f.FooterOffset > 0 {
		return f.FooterOffset
	}
	return f.TailOffset
}

// File returns the FileMeta of the named object.
func (m *BlockMeta) File(name string) (FileMeta, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return FileMeta{}, false
}

func blockDir(tenant string, id ulid.ULID) string { return path.Join(tenant, id.String()) }

func objectName(tenant string, id ulid.ULID, file string) string {
	return path.Join(tenant, id.String(), file)
}

func decodeMeta(name string, b []byte) (BlockMeta, error) {
	var m BlockMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: %w", name, err)
	}
	if m.SchemaVersion < 1 || m.SchemaVersion > SchemaVersion {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: unsupported schema version %d", name, m.SchemaVersion)
	}
	if m.MinTime >= m.MaxTime {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: empty range [%d, %d)", name, m.MinTime, m.MaxTime)
	}
	for _, f := range m.Files {
		if f.Size < 0 || f.TailOffset < 0 || f.TailOffset > f.Size || f.FooterOffset < 0 || f.FooterOffset > f.Size || f.Rows < 0 || strings.Contains(f.Name, "/") {
			return BlockMeta{}, fmt.Errorf("parquetstore: %s: bad file entry %+v", name, f)
		}
	}
	if _, ok := m.File(SeriesFile); !ok {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: no %s", name, SeriesFile)
	}
	if _, ok := m.File(SamplesFile); !ok {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: no %s", name, SamplesFile)
	}
	return m, nil
}
