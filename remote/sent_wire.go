package remote

import (
	"errors"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// The sent set reads accepted requests on every send, so it walks their
// protobuf wire format without decoding them into messages (an order of
// magnitude cheaper than Unmarshal, and allocation-free): per series, the
// hash of its labels and its newest sample or histogram timestamp. Field
// numbers are those of prompb.WriteRequest (RW 1.0) and
// io.prometheus.write.v2.Request (RW 2.0).

var errWire = errors.New("malformed remote write request")

// field reads the next field of b: its number, and its payload (BytesType)
// or value (VarintType); other wire types are skipped.
func field(b []byte) (num protowire.Number, typ protowire.Type, val []byte, x uint64, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, 0, nil, errWire
	}
	b = b[n:]
	switch typ {
	case protowire.BytesType:
		val, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		x, n = protowire.ConsumeVarint(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return 0, 0, nil, 0, nil, errWire
	}
	return num, typ, val, x, b[n:], nil
}

// timestampOf returns the varint field tsField of a message: a sample's or
// histogram's timestamp (0 when absent, as protobuf decodes it).
func timestampOf(msg []byte, tsField protowire.Number) (int64, error) {
	var t int64
	for len(msg) > 0 {
		num, typ, _, x, rest, err := field(msg)
		if err != nil {
			return 0, err
		}
		if num == tsField && typ == protowire.VarintType {
			t = int64(x)
		}
		msg = rest
	}
	return t, nil
}

// hashLabel appends one label to the bytes a series hash is computed over.
func hashLabel(buf, name, value []byte) []byte {
	buf = append(buf, name...)
	buf = append(buf, 0xff)
	buf = append(buf, value...)
	return append(buf, 0xff)
}

// seriesHash is the hash of labels as the sent set keys them.
func seriesHash(buf []byte, ls labels.Labels) (uint64, []byte) {
	buf = buf[:0]
	ls.Range(func(l labels.Label) {
		buf = append(buf, l.Name...)
		buf = append(buf, 0xff)
		buf = append(buf, l.Value...)
		buf = append(buf, 0xff)
	})
	return xxhash.Sum64(buf), buf
}

// scanV1 calls note for every series of a RW 1.0 request with samples or
// histograms.
func scanV1(req []byte, buf []byte, note func(h uint64, t int64)) ([]byte, error) {
	for len(req) > 0 {
		num, typ, ts, _, rest, err := field(req)
		if err != nil {
			return buf, err
		}
		req = rest
		if num != 1 || typ != protowire.BytesType { // timeseries
			continue
		}
		buf = buf[:0]
		newest, any := int64(0), false
		for len(ts) > 0 {
			num, typ, val, _, rest, err := field(ts)
			if err != nil {
				return buf, err
			}
			ts = rest
			if typ != protowire.BytesType {
				continue
			}
			switch num {
			case 1: // label
				var name, value []byte
				for len(val) > 0 {
					n, typ, v, _, rest, err := field(val)
					if err != nil {
						return buf, err
					}
					val = rest
					if typ == protowire.BytesType && n == 1 {
						name = v
					} else if typ == protowire.BytesType && n == 2 {
						value = v
					}
				}
				buf = hashLabel(buf, name, value)
			case 2, 4: // sample (timestamp 2), histogram (timestamp 15)
				tsField := protowire.Number(2)
				if num == 4 {
					tsField = 15
				}
				t, err := timestampOf(val, tsField)
				if err != nil {
					return buf, err
				}
				if !any || t > newest {
					newest, any = t, true
				}
			}
		}
		if any {
			note(xxhash.Sum64(buf), newest)
		}
	}
	return buf, nil
}

// scanV2 is scanV1 for RW 2.0: labels are pairs of references into the
// request's symbols. symbols is scratch space.
func scanV2(req []byte, buf []byte, symbols [][]byte, note func(h uint64, t int64)) ([]byte, [][]byte, error) {
	symbols = symbols[:0]
	for b := req; len(b) > 0; {
		num, typ, val, _, rest, err := field(b)
		if err != nil {
			return buf, symbols, err
		}
		b = rest
		if num == 4 && typ == protowire.BytesType {
			symbols = append(symbols, val)
		}
	}
	for len(req) > 0 {
		num, typ, ts, _, rest, err := field(req)
		if err != nil {
			return buf, symbols, err
		}
		req = rest
		if num != 5 || typ != protowire.BytesType { // timeseries
			continue
		}
		buf = buf[:0]
		newest, any := int64(0), false
		for len(ts) > 0 {
			num, typ, val, _, rest, err := field(ts)
			if err != nil {
				return buf, symbols, err
			}
			ts = rest
			if typ != protowire.BytesType {
				continue
			}
			switch num {
			case 1: // labels_refs, packed
				for len(val) > 0 {
					nameRef, n := protowire.ConsumeVarint(val)
					if n < 0 {
						return buf, symbols, errWire
					}
					valueRef, m := protowire.ConsumeVarint(val[n:])
					if m < 0 || nameRef >= uint64(len(symbols)) || valueRef >= uint64(len(symbols)) {
						return buf, symbols, errWire
					}
					val = val[n+m:]
					buf = hashLabel(buf, symbols[nameRef], symbols[valueRef])
				}
			case 2, 3: // sample (timestamp 2), histogram (timestamp 15)
				tsField := protowire.Number(2)
				if num == 3 {
					tsField = 15
				}
				t, err := timestampOf(val, tsField)
				if err != nil {
					return buf, symbols, err
				}
				if !any || t > newest {
					newest, any = t, true
				}
			}
		}
		if any {
			note(xxhash.Sum64(buf), newest)
		}
	}
	return buf, symbols, nil
}
