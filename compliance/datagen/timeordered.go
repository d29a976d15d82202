package datagen

import (
	"fmt"
	"time"
)

// Window is the time slice of one round of TimeOrderedWrites.
const Window = time.Minute

// TimeOrderedWrites returns the same data set as Writes, with the same bad
// requests at the end, but sent in time order: one round per Window of the
// span, each round carrying every series' samples in [t, t+Window) (the
// float series in a few protocol 1.0 requests, the native histograms in one,
// the protocol 2.0 series in one). All series move in step, so a server
// whose head is cut into short blocks while the data arrives (and that
// rejects samples more than half a block older than its newest) accepts every
// sample, as it accepts them from Writes on a head that is never cut.
func TimeOrderedWrites(base int64) ([]Write, error) {
	floats, hists, v2 := floatSeries(base), histogramSeries(base), v2Series(base)
	var out []Write
	for round, lo := 0, base; lo <= base+ms(Span); round, lo = round+1, lo+ms(Window) {
		hi := lo + ms(Window)
		var fs []Series
		for _, s := range floats {
			if w, ok := s.within(lo, hi); ok {
				fs = append(fs, w)
			}
		}
		const per = 120
		for i := 0; i < len(fs); i += per {
			body, err := encodeV1(fs[i:min(i+per, len(fs))])
			if err != nil {
				return nil, err
			}
			out = append(out, Write{Name: fmt.Sprintf("round %02d v1 floats %d", round, i/per), Headers: v1Headers(), Body: body})
		}
		if hs := withinAll(hists, lo, hi); len(hs) > 0 {
			body, err := encodeV1(hs)
			if err != nil {
				return nil, err
			}
			out = append(out, Write{Name: fmt.Sprintf("round %02d v1 native histograms", round), Headers: v1Headers(), Body: body})
		}
		if vs := withinAll(v2, lo, hi); len(vs) > 0 {
			body, err := encodeV2(vs)
			if err != nil {
				return nil, err
			}
			out = append(out, Write{Name: fmt.Sprintf("round %02d v2 floats and histograms", round), Headers: v2Headers(), Body: body})
		}
	}
	body, err := encodeV1(histogramStaleMarkers(base))
	if err != nil {
		return nil, err
	}
	out = append(out, Write{Name: "v1 histogram stale marker", Headers: v1Headers(), Body: body})
	bad, err := badWrites(base)
	if err != nil {
		return nil, err
	}
	return append(out, bad...), nil
}

// within returns s restricted to the samples in [lo, hi), and whether any is.
func (s Series) within(lo, hi int64) (Series, bool) {
	w := Series{Labels: s.Labels, Meta: s.Meta}
	for _, f := range s.Floats {
		if f.T >= lo && f.T < hi {
			w.Floats = append(w.Floats, f)
		}
	}
	for _, h := range s.Hists {
		if h.T >= lo && h.T < hi {
			w.Hists = append(w.Hists, h)
		}
	}
	return w, len(w.Floats)+len(w.Hists) > 0
}

func withinAll(ss []Series, lo, hi int64) []Series {
	var out []Series
	for _, s := range ss {
		if w, ok := s.within(lo, hi); ok {
			out = append(out, w)
		}
	}
	return out
}
