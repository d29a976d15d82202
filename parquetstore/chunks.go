package parquetstore

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// floatChunkSamples is where float chunks are cut, as upstream's
// storage.NewSeriesToChunkEncoder cuts them.
const floatChunkSamples = 120

// sourceChunks is a series of the chunk querier whose histograms carry the
// source block's chunk starts (histSample.start, SCHEMA.md's chunk_start):
// a histogram chunk begins where one of the source began, with the
// source's counter-reset header, so that the chunks are those Prometheus
// would send (a head chunk cut after another without a counter reset says
// "not a counter reset", which no sample's hint can carry: upstream's
// iterators report the first sample of a chunk as "unknown"). Floats are
// cut as upstream's NewSeriesToChunkEncoder cuts them.
type sourceChunks struct{ s *memSeries }

func (c sourceChunks) Labels() labels.Labels { return c.s.lset }

func (c sourceChunks) Iterator(chunks.Iterator) chunks.Iterator {
	var (
		out        []chunks.Meta
		chk        chunkenc.Chunk
		app        chunkenc.Appender
		typ        = chunkenc.ValNone
		n          int
		mint, maxt int64
	)
	flush := func() {
		if chk != nil {
			out = append(out, chunks.Meta{MinTime: mint, MaxTime: maxt, Chunk: chk})
		}
		chk = nil
	}
	begin := func(e chunkenc.Encoding, t int64) error {
		flush()
		var err error
		if chk, err = chunkenc.NewEmptyChunk(e); err != nil {
			return err
		}
		app, err = chk.Appender()
		n, mint = 0, t
		return err
	}
	it := &memIterator{}
	it.reset(c.s)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		t := it.t
		switch vt {
		case chunkenc.ValFloat:
			if typ != vt || n >= floatChunkSamples {
				if err := begin(chunkenc.EncXOR, t); err != nil {
					return errChunkIterator{err}
				}
			}
			app.Append(0, t, it.v)
		default:
			hs := it.h
			if typ != vt || hs.start != 0 {
				e := chunkenc.EncHistogram
				if hs.h == nil {
					e = chunkenc.EncFloatHistogram
				}
				if err := begin(e, t); err != nil {
					return errChunkIterator{err}
				}
			}
			var (
				newChk  chunkenc.Chunk
				recoded bool
				err     error
			)
			if hs.h != nil {
				newChk, recoded, app, err = app.AppendHistogram(nil, 0, t, hs.h, false)
			} else {
				newChk, recoded, app, err = app.AppendFloatHistogram(nil, 0, t, hs.fh, false)
			}
			if err != nil {
				return errChunkIterator{err}
			}
			if newChk != nil {
				if !recoded { // a counter reset inside a source chunk: cut, as upstream
					flush()
					n, mint = 0, t
				}
				chk = newChk
			}
			if hs.start != 0 && n == 0 {
				setCounterResetHeader(chk, hs.start)
			}
		}
		typ, maxt = vt, t
		n++
	}
	flush()
	return storage.NewListChunkSeriesIterator(out...)
}

// setCounterResetHeader gives histogram chunk c the header that start
// (histogramRow.ChunkStart) recorded. Upstream's appenders set it only
// from a previous appender or a sample's hint; the header is the top two
// bits of the chunk's third byte, which its Bytes exposes in place (a
// recoded chunk copies them).
func setCounterResetHeader(c chunkenc.Chunk, start int32) {
	b := c.Bytes()
	if len(b) <= chunkHeaderFlagPos {
		return
	}
	b[chunkHeaderFlagPos] = b[chunkHeaderFlagPos]&^chunkenc.CounterResetHeaderMask | byte(start-1)<<6&chunkenc.CounterResetHeaderMask
}

type errChunkIterator struct{ err error }

func (errChunkIterator) At() chunks.Meta { return chunks.Meta{} }
func (errChunkIterator) Next() bool      { return false }
func (e errChunkIterator) Err() error    { return e.err }
