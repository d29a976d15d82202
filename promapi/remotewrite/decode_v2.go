package remotewrite

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// v2Metadata is a 2.0 Metadata message.
type v2Metadata struct {
	typ              int32
	helpRef, unitRef uint32
}

// v2Exemplar is a 2.0 exemplar; labelRefs is a range into v2Request.exRefs.
type v2Exemplar struct {
	labelRefs span
	v         float64
	t         int64
}

// v2Series is a 2.0 TimeSeries: ranges into the flat slices of v2Request.
type v2Series struct {
	labelRefs, samples, histograms, exemplars span
	meta                                      v2Metadata
}

// v2Request is a decoded io.prometheus.write.v2.Request. The symbols alias
// the decoded request buffer; labels are resolved from symbol references
// without copying strings.
type v2Request struct {
	symbols    []string
	series     []v2Series
	refs       []uint32
	samples    []sample
	histograms []rawHistogram
	exemplars  []v2Exemplar
	exRefs     []uint32
	hbufs      histBufs
}

func (r *v2Request) reset() {
	r.symbols, r.series, r.refs, r.samples = r.symbols[:0], r.series[:0], r.refs[:0], r.samples[:0]
	r.histograms, r.exemplars, r.exRefs = r.histograms[:0], r.exemplars[:0], r.exRefs[:0]
	r.hbufs.reset()
}

// decode parses b (an uncompressed 2.0 Request) into r. It accepts exactly
// what gogo's writev2.Request.Unmarshal accepts. The symbols alias b.
func (r *v2Request) decode(b []byte) error {
	r.reset()
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch num {
		case 4, 5:
			if typ != protowire.BytesType {
				return errWireType
			}
			start, end, err := length(b, i)
			if err != nil {
				return err
			}
			if num == 4 {
				r.symbols = append(r.symbols, yoloString(b[start:end]))
			} else if err = r.decodeSeries(b[start:end]); err != nil {
				return err
			}
			i = end
		default:
			if i, err = skip(b, pre); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *v2Request) decodeSeries(b []byte) error {
	s := v2Series{
		labelRefs:  span{int32(len(r.refs)), 0},
		samples:    span{int32(len(r.samples)), 0},
		histograms: span{int32(len(r.histograms)), 0},
		exemplars:  span{int32(len(r.exemplars)), 0},
	}
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		if num == 1 {
			if r.refs, i, err = packedUint32s(b, i, typ, r.refs); err != nil {
				return err
			}
			continue
		}
		if num < 1 || num > 5 {
			if i, err = skip(b, pre); err != nil {
				return err
			}
			continue
		}
		if typ != protowire.BytesType {
			return errWireType
		}
		start, end, err := length(b, i)
		if err != nil {
			return err
		}
		m := b[start:end]
		switch num {
		case 2:
			var smp sample
			if smp, err = decodeSample(m, true); err == nil {
				r.samples = append(r.samples, smp)
			}
		case 3:
			r.histograms = append(r.histograms, rawHistogram{})
			err = decodeHistogram(m, &r.histograms[len(r.histograms)-1], &r.hbufs, true)
		case 4:
			err = r.decodeExemplar(m)
		case 5:
			err = decodeMetadata(m, &s.meta) // merges, like gogo
		}
		if err != nil {
			return err
		}
		i = end
	}
	s.labelRefs.hi = int32(len(r.refs))
	s.samples.hi = int32(len(r.samples))
	s.histograms.hi = int32(len(r.histograms))
	s.exemplars.hi = int32(len(r.exemplars))
	r.series = append(r.series, s)
	return nil
}

func (r *v2Request) decodeExemplar(b []byte) error {
	e := v2Exemplar{labelRefs: span{int32(len(r.exRefs)), 0}}
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch num {
		case 1:
			if r.exRefs, i, err = packedUint32s(b, i, typ, r.exRefs); err != nil {
				return err
			}
		case 2:
			if typ != protowire.Fixed64Type {
				return errWireType
			}
			if e.v, i, err = double(b, i); err != nil {
				return err
			}
		case 3:
			if typ != protowire.VarintType {
				return errWireType
			}
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			e.t = int64(v)
		default:
			if i, err = skip(b, pre); err != nil {
				return err
			}
		}
	}
	e.labelRefs.hi = int32(len(r.exRefs))
	r.exemplars = append(r.exemplars, e)
	return nil
}

func decodeMetadata(b []byte, m *v2Metadata) error {
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch num {
		case 1, 3, 4:
			if typ != protowire.VarintType {
				return errWireType
			}
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			switch num {
			case 1:
				m.typ = int32(v)
			case 3:
				m.helpRef = uint32(v)
			case 4:
				m.unitRef = uint32(v)
			}
		default:
			if i, err = skip(b, pre); err != nil {
				return err
			}
		}
	}
	return nil
}
