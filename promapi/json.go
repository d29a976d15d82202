package promapi

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// The encoder below writes exactly the bytes Prometheus's jsoniter-based codec
// writes. Two string escapings exist there and both are reproduced:
//   - label names and values (appendLabels) go through jsoniter's plain
//     WriteString: \n \r \t \" \\ short, other control bytes as \u00XX, every
//     other byte (< > &, U+2028, even invalid UTF-8) verbatim;
//   - every other string (errors, warnings, []string data, struct fields) goes
//     through the HTML-escaping string encoder: additionally < > & as \u00XX,
//     invalid UTF-8 as \ufffd, U+2028/U+2029 escaped.
// Sample values are quoted strings, timestamps seconds with up to three
// decimals. Structures without a hand-written encoder go through jsoniter's
// standard-library-compatible config, with labels.Labels routed to
// appendLabels.

var jsonAPI = jsoniter.ConfigCompatibleWithStandardLibrary

func init() {
	jsoniter.RegisterTypeEncoderFunc("labels.Labels", func(ptr unsafe.Pointer, s *jsoniter.Stream) {
		s.SetBuffer(appendLabels(s.Buffer(), *(*labels.Labels)(ptr)))
	}, func(ptr unsafe.Pointer) bool { return (*labels.Labels)(ptr).IsEmpty() })
}

// jsonAppender is data that encodes itself (the hot paths: query results).
type jsonAppender interface {
	appendJSON(dst []byte) []byte
}

// appendData encodes any response payload.
func appendData(dst []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(dst), nil
	}
	b, err := jsonAPI.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

const hexDigits = "0123456789abcdef"

// appendRawString appends s as jsoniter's Stream.WriteString does: only
// quotes, backslashes and control bytes are escaped.
func appendRawString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscapedASCII(dst, b)
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscapedASCII appends the escape of an ASCII byte that needs one.
func appendEscapedASCII(dst []byte, b byte) []byte {
	switch b {
	case '"', '\\':
		return append(dst, '\\', b)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}

// appendString appends s as a JSON string, escaped like jsoniter with HTML escaping.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends a sample value as Prometheus does: quoted, 'f' format
// with the shortest exact precision, 'e' below 1e-6 and from 1e21, "NaN",
// "+Inf", "-Inf".
func appendFloat(dst []byte, f float64) []byte {
	dst = append(dst, '"')
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	return append(dst, '"')
}

// appendTimestamp appends a millisecond timestamp as decimal seconds with the
// milliseconds as a three-digit fraction when not zero (1500 → 1.500, 1000 → 1).
func appendTimestamp(dst []byte, t int64) []byte {
	u := uint64(t)
	if t < 0 {
		dst = append(dst, '-')
		u = uint64(-t) // two's complement also gives the magnitude of MinInt64
	}
	dst = strconv.AppendUint(dst, u/1000, 10)
	if frac := u % 1000; frac != 0 {
		dst = append(dst, '.')
		if frac < 100 {
			dst = append(dst, '0')
		}
		if frac < 10 {
			dst = append(dst, '0')
		}
		dst = strconv.AppendUint(dst, frac, 10)
	}
	return dst
}

// appendLabels appends a label set as a JSON object in label order.
func appendLabels(dst []byte, ls labels.Labels) []byte {
	dst = append(dst, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendRawString(dst, l.Name)
		dst = append(dst, ':')
		dst = appendRawString(dst, l.Value)
	})
	return append(dst, '}')
}

// appendHistogram appends a native histogram: count, sum and the non-empty
// buckets as [boundaries, lower, upper, count], boundaries being 0 (left
// open), 1 (right open), 2 (open) or 3 (closed).
func appendHistogram(dst []byte, h *histogram.FloatHistogram) []byte {
	dst = append(dst, `{"count":`...)
	dst = appendFloat(dst, h.Count)
	dst = append(dst, `,"sum":`...)
	dst = appendFloat(dst, h.Sum)
	found := false
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		if found {
			dst = append(dst, ',')
		} else {
			dst = append(dst, `,"buckets":[`...)
			found = true
		}
		boundaries := byte('2')
		switch {
		case b.LowerInclusive && b.UpperInclusive:
			boundaries = '3'
		case b.LowerInclusive:
			boundaries = '1'
		case b.UpperInclusive:
			boundaries = '0'
		}
		dst = append(dst, '[', boundaries, ',')
		dst = appendFloat(dst, b.Lower)
		dst = append(dst, ',')
		dst = appendFloat(dst, b.Upper)
		dst = append(dst, ',')
		dst = appendFloat(dst, b.Count)
		dst = append(dst, ']')
	}
	if found {
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendSample(dst []byte, s promql.Sample) []byte {
	dst = append(dst, `{"metric":`...)
	dst = appendLabels(dst, s.Metric)
	if s.H == nil {
		dst = append(dst, `,"value":[`...)
		dst = appendTimestamp(dst, s.T)
		dst = append(dst, ',')
		dst = appendFloat(dst, s.F)
	} else {
		dst = append(dst, `,"histogram":[`...)
		dst = appendTimestamp(dst, s.T)
		dst = append(dst, ',')
		dst = appendHistogram(dst, s.H)
	}
	return append(dst, "]}"...)
}

func appendSeries(dst []byte, s promql.Series) []byte {
	dst = append(dst, `{"metric":`...)
	dst = appendLabels(dst, s.Metric)
	for i, p := range s.Floats {
		if i == 0 {
			dst = append(dst, `,"values":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = appendTimestamp(dst, p.T)
		dst = append(dst, ',')
		dst = appendFloat(dst, p.F)
		dst = append(dst, ']')
	}
	if len(s.Floats) > 0 {
		dst = append(dst, ']')
	}
	for i, p := range s.Histograms {
		if i == 0 {
			dst = append(dst, `,"histograms":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = appendTimestamp(dst, p.T)
		dst = append(dst, ',')
		dst = appendHistogram(dst, p.H)
		dst = append(dst, ']')
	}
	if len(s.Histograms) > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendStdFloat appends f as encoding/json encodes a float64 (used where
// Prometheus's values go through encoding/json: scalar and string results).
func appendStdFloat(dst []byte, f float64) []byte {
	b, err := json.Marshal(f)
	if err != nil { // NaN or ±Inf timestamps cannot happen: T is an int64.
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

// appendValue appends a PromQL result value.
func appendValue(dst []byte, v parser.Value) []byte {
	switch v := v.(type) {
	case promql.Vector:
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSample(dst, s)
		}
		return append(dst, ']')
	case promql.Matrix:
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSeries(dst, s)
		}
		return append(dst, ']')
	case promql.Scalar:
		dst = append(dst, '[')
		dst = appendStdFloat(dst, float64(v.T)/1000)
		dst = append(dst, ',', '"')
		dst = strconv.AppendFloat(dst, v.V, 'f', -1, 64)
		return append(dst, '"', ']')
	case promql.String:
		dst = append(dst, '[')
		dst = appendStdFloat(dst, float64(v.T)/1000)
		dst = append(dst, ',')
		b, _ := json.Marshal(v.V) // encoding/json, as promql.String.MarshalJSON does
		dst = append(dst, b...)
		return append(dst, ']')
	default:
		b, err := jsonAPI.Marshal(v)
		if err != nil {
			return append(dst, "null"...)
		}
		return append(dst, b...)
	}
}

// exemplarResults is the /query_exemplars payload.
type exemplarResults []exemplar.QueryResult

func (r exemplarResults) appendJSON(dst []byte) []byte {
	if r == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, res := range r {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"seriesLabels":`...)
		dst = appendLabels(dst, res.SeriesLabels)
		dst = append(dst, `,"exemplars":`...)
		if res.Exemplars == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '[')
			for j, e := range res.Exemplars {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"labels":`...)
				dst = appendLabels(dst, e.Labels)
				dst = append(dst, `,"value":`...)
				dst = appendFloat(dst, e.Value)
				dst = append(dst, `,"timestamp":`...)
				dst = appendTimestamp(dst, e.Ts)
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
