package loadgen

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Protobuf wire tags used below (field number << 3 | wire type).
const (
	tagBytes1   = 1<<3 | 2 // field 1, length-delimited
	tagBytes2   = 2<<3 | 2
	tagBytes4   = 4<<3 | 2
	tagBytes5   = 5<<3 | 2
	tagFixed641 = 1<<3 | 1 // field 1, 64-bit (Sample.value)
	tagVarint1  = 1<<3 | 0 // field 1, varint (Metadata.type)
	tagVarint2  = 2<<3 | 0 // field 2, varint (Sample.timestamp)

	// tsLen is the varint length of every timestamp in [minTimestamp, maxTimestamp).
	tsLen = 6
	// sampleLen is the encoded Sample message: value tag, 8 bytes, timestamp tag, 6 bytes.
	sampleLen = 1 + 8 + 1 + tsLen
	// patchLen is the part of a Sample rewritten each round: value, timestamp tag, timestamp.
	patchLen = sampleLen - 1

	minTimestamp = int64(1) << 35
	maxTimestamp = int64(1) << 42
)

// Metadata types of remote write 2.0.
const (
	metricTypeCounter = 1
	metricTypeGauge   = 2
)

func appendTag(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	return binary.AppendUvarint(b, uint64(n))
}

func appendString(b []byte, tag byte, s string) []byte {
	return append(appendTag(b, tag, len(s)), s...)
}

// appendSample appends a Sample message (with its field tag) whose value and
// timestamp bytes are placeholders, and returns the region to patch.
func appendSample(b []byte) ([]byte, region) {
	b = append(b, tagBytes2, sampleLen, tagFixed641)
	r := region{off: len(b), len: patchLen}
	b = append(b, make([]byte, 8)...)
	b = append(b, tagVarint2)
	b = append(b, make([]byte, tsLen)...)
	return b, r
}

// putTimestamp writes ts as a varint of exactly tsLen bytes.
func putTimestamp(dst []byte, ts int64) error {
	if ts < minTimestamp || ts >= maxTimestamp {
		return fmt.Errorf("loadgen: timestamp %d outside [2^35, 2^42) ms", ts)
	}
	if n := binary.PutUvarint(dst, uint64(ts)); n != tsLen {
		return fmt.Errorf("loadgen: timestamp %d encodes in %d bytes, want %d", ts, n, tsLen)
	}
	return nil
}

// putSample fills a patch region (see appendSample) with a value and an
// encoded timestamp.
func putSample(dst []byte, v float64, ts *[tsLen]byte) {
	binary.LittleEndian.PutUint64(dst, math.Float64bits(v))
	copy(dst[9:9+tsLen], ts[:])
}

// encodeV1 returns a prometheus.WriteRequest holding one sample per series.
func encodeV1(m Mix, series []int32) ([]byte, []region) {
	var (
		body    []byte
		ts      []byte
		regions = make([]region, 0, len(series))
	)
	for _, i := range series {
		ts = ts[:0]
		for _, l := range m.Labels(int(i)) {
			ts = appendTag(ts, tagBytes1, 2+uvarintLen(len(l.Name))+len(l.Name)+uvarintLen(len(l.Value))+len(l.Value))
			ts = appendString(ts, tagBytes1, l.Name)
			ts = appendString(ts, tagBytes2, l.Value)
		}
		body = appendTag(body, tagBytes1, len(ts)+2+sampleLen)
		body = append(body, ts...)
		var r region
		body, r = appendSample(body)
		regions = append(regions, r)
	}
	return body, regions
}

// encodeV2 returns an io.prometheus.write.v2.Request holding one sample per
// series, with the request's own symbol table (symbol 0 is "").
func encodeV2(m Mix, series []int32) ([]byte, []region) {
	syms := map[string]uint32{"": 0}
	var (
		symbols = []string{""}
		refs    = make([][]uint32, len(series))
	)
	ref := func(s string) uint32 {
		if r, ok := syms[s]; ok {
			return r
		}
		r := uint32(len(symbols))
		syms[s] = r
		symbols = append(symbols, s)
		return r
	}
	for k, i := range series {
		for _, l := range m.Labels(int(i)) {
			refs[k] = append(refs[k], ref(l.Name), ref(l.Value))
		}
	}
	var body []byte
	for _, s := range symbols {
		body = appendString(body, tagBytes4, s)
	}
	regions := make([]region, 0, len(series))
	var ts, packed []byte
	for k, i := range series {
		packed = packed[:0]
		for _, r := range refs[k] {
			packed = binary.AppendUvarint(packed, uint64(r))
		}
		ts = appendTag(ts[:0], tagBytes1, len(packed))
		ts = append(ts, packed...)
		mtype := byte(metricTypeGauge)
		if m.isCounter(int(i)) {
			mtype = metricTypeCounter
		}
		metadata := []byte{tagBytes5, 2, tagVarint1, mtype}
		body = appendTag(body, tagBytes5, len(ts)+2+sampleLen+len(metadata))
		body = append(body, ts...)
		var r region
		body, r = appendSample(body)
		regions = append(regions, r)
		body = append(body, metadata...)
	}
	return body, regions
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}
