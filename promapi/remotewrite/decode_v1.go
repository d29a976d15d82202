package remotewrite

import (
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// bytesLabel is one name/value pair of a 1.0 request; the strings alias the
// decoded request buffer and are only valid while it is.
type bytesLabel struct{ name, value string }

// sample is a float sample; st is 2.0's start timestamp (0 in 1.0).
type sample struct {
	v     float64
	t, st int64
}

// v1Exemplar is a 1.0 exemplar; labels is a range into v1Request.exLabels.
type v1Exemplar struct {
	labels span
	v      float64
	t      int64
}

// v1Series is a TimeSeries message: ranges into the flat slices of v1Request.
type v1Series struct {
	labels, samples, exemplars, histograms span
}

// v1Request is a decoded prometheus.WriteRequest. Decoding reuses its slices,
// so a steady stream of requests decodes without allocating. Metadata (field
// 3) is checked for well-formedness and dropped, as Prometheus's receiver
// ignores it.
type v1Request struct {
	series     []v1Series
	labels     []bytesLabel
	samples    []sample
	exemplars  []v1Exemplar
	exLabels   []bytesLabel
	histograms []rawHistogram
	hbufs      histBufs
}

func (r *v1Request) reset() {
	r.series, r.labels, r.samples = r.series[:0], r.labels[:0], r.samples[:0]
	r.exemplars, r.exLabels, r.histograms = r.exemplars[:0], r.exLabels[:0], r.histograms[:0]
	r.hbufs.reset()
}

// yoloString views b as a string without copying. The string is only valid
// while b is neither modified nor reused.
func yoloString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// decode parses b (an uncompressed WriteRequest) into r. It accepts exactly
// what gogo's prompb.WriteRequest.Unmarshal accepts. The strings in r alias b.
func (r *v1Request) decode(b []byte) error {
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
		case 1, 3:
			if typ != protowire.BytesType {
				return errWireType
			}
			start, end, err := length(b, i)
			if err != nil {
				return err
			}
			if num == 1 {
				err = r.decodeSeries(b[start:end])
			} else {
				err = checkMetricMetadata(b[start:end])
			}
			if err != nil {
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

func (r *v1Request) decodeSeries(b []byte) error {
	s := v1Series{
		labels:     span{int32(len(r.labels)), 0},
		samples:    span{int32(len(r.samples)), 0},
		exemplars:  span{int32(len(r.exemplars)), 0},
		histograms: span{int32(len(r.histograms)), 0},
	}
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		if num < 1 || num > 4 {
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
		case 1:
			var l bytesLabel
			if l, err = decodeLabel(m); err == nil {
				r.labels = append(r.labels, l)
			}
		case 2:
			var smp sample
			if smp, err = decodeSample(m, false); err == nil {
				r.samples = append(r.samples, smp)
			}
		case 3:
			err = r.decodeExemplar(m)
		case 4:
			r.histograms = append(r.histograms, rawHistogram{})
			err = decodeHistogram(m, &r.histograms[len(r.histograms)-1], &r.hbufs, false)
		}
		if err != nil {
			return err
		}
		i = end
	}
	s.labels.hi = int32(len(r.labels))
	s.samples.hi = int32(len(r.samples))
	s.exemplars.hi = int32(len(r.exemplars))
	s.histograms.hi = int32(len(r.histograms))
	r.series = append(r.series, s)
	return nil
}

func decodeLabel(b []byte) (bytesLabel, error) {
	var l bytesLabel
	// Fast path: name (field 1) then value (field 2), both shorter than 128
	// bytes, the layout every known sender writes.
	if len(b) >= 4 && b[0] == 0x0a && b[1] < 0x80 {
		n := 2 + int(b[1])
		if n+2 <= len(b) && b[n] == 0x12 && b[n+1] < 0x80 && n+2+int(b[n+1]) == len(b) {
			return bytesLabel{name: yoloString(b[2:n]), value: yoloString(b[n+2:])}, nil
		}
	}
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return l, err
		}
		i = n
		switch num {
		case 1, 2:
			if typ != protowire.BytesType {
				return l, errWireType
			}
			start, end, err := length(b, i)
			if err != nil {
				return l, err
			}
			if num == 1 {
				l.name = yoloString(b[start:end])
			} else {
				l.value = yoloString(b[start:end])
			}
			i = end
		default:
			if i, err = skip(b, pre); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

// decodeSample decodes a Sample message; withST enables 2.0's field 3.
func decodeSample(b []byte, withST bool) (sample, error) {
	var s sample
	// Fast path: value (field 1, fixed64) then timestamp (field 2, varint),
	// the order every known sender uses.
	if len(b) >= 10 && b[0] == 0x09 && b[9] == 0x10 {
		s.v, _, _ = double(b, 1)
		t, i, err := varint(b, 10)
		if err == nil && i == len(b) {
			s.t = int64(t)
			return s, nil
		}
		s = sample{}
	}
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return s, err
		}
		i = n
		switch {
		case num == 1:
			if typ != protowire.Fixed64Type {
				return s, errWireType
			}
			if s.v, i, err = double(b, i); err != nil {
				return s, err
			}
		case num == 2 || (num == 3 && withST):
			if typ != protowire.VarintType {
				return s, errWireType
			}
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return s, err
			}
			if num == 2 {
				s.t = int64(v)
			} else {
				s.st = int64(v)
			}
		default:
			if i, err = skip(b, pre); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

func (r *v1Request) decodeExemplar(b []byte) error {
	e := v1Exemplar{labels: span{int32(len(r.exLabels)), 0}}
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
			if typ != protowire.BytesType {
				return errWireType
			}
			start, end, err := length(b, i)
			if err != nil {
				return err
			}
			l, err := decodeLabel(b[start:end])
			if err != nil {
				return err
			}
			r.exLabels = append(r.exLabels, l)
			i = end
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
	e.labels.hi = int32(len(r.exLabels))
	r.exemplars = append(r.exemplars, e)
	return nil
}

// checkMetricMetadata validates a MetricMetadata message (type = 1, strings
// 2, 4 and 5) without keeping it.
func checkMetricMetadata(b []byte) error {
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
			if typ != protowire.VarintType {
				return errWireType
			}
			if _, i, err = varint(b, i); err != nil {
				return err
			}
		case 2, 4, 5:
			if typ != protowire.BytesType {
				return errWireType
			}
			_, end, err := length(b, i)
			if err != nil {
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
