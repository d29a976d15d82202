package wal

import (
	"encoding/binary"

	"github.com/prometheus/common/model"
)

// metricTypes maps the known metric types to one byte; any other type string
// is written as metricTypeOther followed by the string.
var metricTypes = [...]model.MetricType{
	"",
	model.MetricTypeCounter,
	model.MetricTypeGauge,
	model.MetricTypeHistogram,
	model.MetricTypeGaugeHistogram,
	model.MetricTypeSummary,
	model.MetricTypeInfo,
	model.MetricTypeStateset,
	model.MetricTypeUnknown,
}

const metricTypeOther = 0xff

// AppendMetadataRecord appends a metadata record holding s to dst.
//
//	type(1) count(uvarint) { refDelta(varint) metricType(1 [+ string]) unit(string) help(string) }*
//	string = len(uvarint) bytes
func AppendMetadataRecord(dst []byte, s []RefMetadata) []byte {
	dst = append(dst, byte(RecordMetadata))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prev SeriesRef
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prev)))
		prev = s[i].Ref
		dst = appendMetricType(dst, s[i].Type)
		dst = appendString(dst, s[i].Unit)
		dst = appendString(dst, s[i].Help)
	}
	return dst
}

func appendMetricType(dst []byte, t model.MetricType) []byte {
	for i, k := range metricTypes {
		if k == t {
			return append(dst, byte(i))
		}
	}
	dst = append(dst, metricTypeOther)
	return appendString(dst, string(t))
}

// DecodeMetadataRecord appends the metadata of rec to dst. The strings are
// copies.
func DecodeMetadataRecord(rec []byte, dst []RefMetadata) ([]RefMetadata, error) {
	d := decoder{b: rec}
	d.header(RecordMetadata)
	n := d.count(4)
	dst = growSlice(dst, n)
	var prev SeriesRef
	for i := 0; i < n && d.err == nil; i++ {
		ref := prev + SeriesRef(d.varint())
		prev = ref
		var typ model.MetricType
		switch k := d.byte(); {
		case int(k) < len(metricTypes):
			typ = metricTypes[k]
		case k == metricTypeOther:
			typ = model.MetricType(d.bytes())
		default:
			d.fail(errUnknownMetricType)
		}
		unit := string(d.bytes())
		help := string(d.bytes())
		if d.err == nil {
			dst = append(dst, RefMetadata{Ref: ref, Type: typ, Unit: unit, Help: help})
		}
	}
	return dst, d.end(RecordMetadata)
}
