package datagen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/prometheus/prometheus/model/value"
)

// floatSeries returns every float series of the data set (protocol 1.0).
func floatSeries(base int64) []Series {
	r := rand.New(rand.NewPCG(42, 1))
	var out []Series
	out = append(out, counters(base, r)...)
	out = append(out, gauges(base, r)...)
	out = append(out, summaries(base, r)...)
	out = append(out, classicHistograms(base, r)...)
	out = append(out, irregular(base, r)...)
	out = append(out, specials(base)...)
	out = append(out, names(base, r)...)
	out = append(out, many(base, r)...)
	return out
}

func regular(base int64, f func(i int, t int64) float64) []FloatSample {
	s := make([]FloatSample, 0, Points())
	for i := 0; i < Points(); i++ {
		t := base + int64(i)*ms(Step)
		s = append(s, FloatSample{T: t, V: f(i, t)})
	}
	return s
}

// counters: cmp_requests_total, integer increments with resets at fixed points,
// and cmp_bytes_total, large float increments.
func counters(base int64, r *rand.Rand) []Series {
	var out []Series
	for inst := 0; inst < 5; inst++ {
		for _, method := range []string{"GET", "POST"} {
			for _, code := range []string{"200", "500"} {
				resetAt := -1
				if inst%2 == 0 {
					resetAt = 40 + inst*20 // a reset inside the span
				}
				v := float64(r.IntN(100))
				out = append(out, Series{
					Labels: lbls("__name__", "cmp_requests_total", "job", "api", "instance", fmt.Sprintf("host-%d", inst), "method", method, "code", code),
					Floats: regular(base, func(i int, _ int64) float64 {
						if i == resetAt {
							v = float64(r.IntN(3))
						} else if i > 0 {
							v += float64(r.IntN(20))
						}
						return v
					}),
				})
			}
		}
	}
	for inst := 0; inst < 3; inst++ {
		v := 1e15 + float64(inst)*1e13
		out = append(out, Series{
			Labels: lbls("__name__", "cmp_bytes_total", "job", "api", "instance", fmt.Sprintf("host-%d", inst)),
			Floats: regular(base, func(i int, _ int64) float64 {
				if i > 0 {
					v += r.Float64() * 1e6
				}
				return v
			}),
		})
	}
	return out
}

// gauges: cmp_temperature_celsius, sinusoids with noise, some negative;
// cmp_build_info, constant 1 info-style series for joins.
func gauges(base int64, r *rand.Rand) []Series {
	var out []Series
	rooms := []string{"kitchen", "cellar", "attic", "lab"}
	for inst := 0; inst < 3; inst++ {
		for ri, room := range rooms {
			off := float64(ri*7 - 10)
			out = append(out, Series{
				Labels: lbls("__name__", "cmp_temperature_celsius", "job", "sensors", "instance", fmt.Sprintf("host-%d", inst), "room", room),
				Floats: regular(base, func(i int, _ int64) float64 {
					return off + 5*math.Sin(float64(i)/10+float64(inst)) + math.Round(r.Float64()*100)/100
				}),
			})
		}
	}
	for inst := 0; inst < 5; inst++ {
		out = append(out, Series{
			Labels: lbls("__name__", "cmp_build_info", "job", "api", "instance", fmt.Sprintf("host-%d", inst), "version", fmt.Sprintf("1.%d.0", inst%2), "owner", []string{"team-a", "team-b"}[inst%2]),
			Floats: regular(base, func(int, int64) float64 { return 1 }),
		})
	}
	return out
}

// summaries: cmp_rpc_duration_seconds{quantile} with _sum and _count.
func summaries(base int64, r *rand.Rand) []Series {
	var out []Series
	for _, svc := range []string{"auth", "db"} {
		for _, q := range []string{"0.5", "0.9", "0.99"} {
			out = append(out, Series{
				Labels: lbls("__name__", "cmp_rpc_duration_seconds", "job", "rpc", "service", svc, "quantile", q),
				Floats: regular(base, func(int, int64) float64 { return math.Round(r.Float64()*1000) / 1000 }),
			})
		}
		sum, count := 0.0, 0.0
		sums := regular(base, func(int, int64) float64 { sum += r.Float64() * 10; return sum })
		counts := regular(base, func(int, int64) float64 { count += float64(r.IntN(50)); return count })
		out = append(out,
			Series{Labels: lbls("__name__", "cmp_rpc_duration_seconds_sum", "job", "rpc", "service", svc), Floats: sums},
			Series{Labels: lbls("__name__", "cmp_rpc_duration_seconds_count", "job", "rpc", "service", svc), Floats: counts})
	}
	return out
}

// classicHistograms: cmp_http_request_duration_seconds_{bucket,sum,count},
// cumulative buckets, one series set with a reset.
func classicHistograms(base int64, r *rand.Rand) []Series {
	les := []string{"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	var out []Series
	for _, handler := range []string{"/api", "/metrics"} {
		for inst := 0; inst < 2; inst++ {
			n := Points()
			own := make([]float64, len(les)) // each bucket's own (non-cumulative) count
			buckets := make([][]float64, len(les))
			sums, counts := make([]float64, n), make([]float64, n)
			for i := 0; i < n; i++ {
				reset := handler == "/api" && inst == 1 && i == 100
				if reset {
					clear(own)
				}
				cum := 0.0
				for b := range les {
					own[b] += float64(r.IntN(5))
					cum += own[b]
					buckets[b] = append(buckets[b], cum)
				}
				counts[i] = cum
				if i > 0 && !reset {
					sums[i] = sums[i-1]
				}
				sums[i] += r.Float64() * 20
			}
			common := []string{"job", "web", "instance", fmt.Sprintf("host-%d", inst), "handler", handler}
			for b, le := range les {
				vals := buckets[b]
				out = append(out, Series{
					Labels: lbls(append([]string{"__name__", "cmp_http_request_duration_seconds_bucket", "le", le}, common...)...),
					Floats: regular(base, func(i int, _ int64) float64 { return vals[i] }),
				})
			}
			out = append(out,
				Series{Labels: lbls(append([]string{"__name__", "cmp_http_request_duration_seconds_sum"}, common...)...), Floats: regular(base, func(i int, _ int64) float64 { return sums[i] })},
				Series{Labels: lbls(append([]string{"__name__", "cmp_http_request_duration_seconds_count"}, common...)...), Floats: regular(base, func(i int, _ int64) float64 { return counts[i] })})
		}
	}
	return out
}

// irregular: cmp_gappy series that have gaps, stop with a stale marker, start
// late, are sparse or hold a single sample; also off-grid timestamps.
func irregular(base int64, r *rand.Rand) []Series {
	stale := math.Float64frombits(value.StaleNaN)
	mk := func(kind string) Series {
		return Series{Labels: lbls("__name__", "cmp_gappy", "job", "batch", "kind", kind)}
	}
	var out []Series
	add := func(s Series, keep func(i int) bool) {
		for i := 0; i < Points(); i++ {
			if keep(i) {
				s.Floats = append(s.Floats, FloatSample{T: base + int64(i)*ms(Step), V: float64(i) + r.Float64()})
			}
		}
		out = append(out, s)
	}
	add(mk("gap"), func(i int) bool { return i < 40 || i >= 80 })       // 10m..20m missing
	add(mk("short_gap"), func(i int) bool { return i < 60 || i >= 70 }) // 2.5m missing, within lookback
	add(mk("late"), func(i int) bool { return i >= 120 })               // starts at +30m
	add(mk("sparse"), func(i int) bool { return i%8 == 0 })             // every 2m
	add(mk("single"), func(i int) bool { return i == 48 })              // one sample at +12m
	stop := mk("stop")                                                  // stops at +25m with a stale marker
	add(stop, func(i int) bool { return false })
	s := &out[len(out)-1]
	for i := 0; i <= 100; i++ {
		s.Floats = append(s.Floats, FloatSample{T: base + int64(i)*ms(Step), V: float64(i * 2)})
	}
	s.Floats = append(s.Floats, FloatSample{T: base + 101*ms(Step), V: stale})
	// restarts after staleness at +35m
	for i := 140; i < Points(); i++ {
		s.Floats = append(s.Floats, FloatSample{T: base + int64(i)*ms(Step), V: float64(i)})
	}
	// off-grid timestamps: every 7.3s with millisecond jitter
	jit := mk("jitter")
	for t := int64(0); t < ms(Span); t += 7300 + int64(r.IntN(400)) {
		jit.Floats = append(jit.Floats, FloatSample{T: base + t, V: float64(t) / 1000})
	}
	out = append(out, jit)
	return out
}

// specials: cmp_special{kind}, constant extreme values, and one series that
// cycles through them.
func specials(base int64) []Series {
	kinds := []struct {
		kind string
		v    float64
	}{
		{"nan", math.NaN()},
		{"pos_inf", math.Inf(1)},
		{"neg_inf", math.Inf(-1)},
		{"max", math.MaxFloat64},
		{"neg_max", -math.MaxFloat64},
		{"min_subnormal", math.SmallestNonzeroFloat64},
		{"tiny", 1e-300},
		{"huge", 1e300},
		{"neg_zero", math.Copysign(0, -1)},
		{"zero", 0},
		{"int53", 9007199254740993},
		{"third", 1.0 / 3},
		{"neg", -42.5},
	}
	var out []Series
	var cycle []float64
	for _, k := range kinds {
		v := k.v
		cycle = append(cycle, v)
		out = append(out, Series{
			Labels: lbls("__name__", "cmp_special", "job", "special", "kind", k.kind),
			Floats: regular(base, func(int, int64) float64 { return v }),
		})
	}
	out = append(out, Series{
		Labels: lbls("__name__", "cmp_special", "job", "special", "kind", "cycle"),
		Floats: regular(base, func(i int, _ int64) float64 { return cycle[i%len(cycle)] }),
	})
	// a counter that hits NaN and Inf midway
	out = append(out, Series{
		Labels: lbls("__name__", "cmp_special_total", "job", "special"),
		Floats: regular(base, func(i int, _ int64) float64 {
			switch i {
			case 50:
				return math.NaN()
			case 90:
				return math.Inf(1)
			}
			return float64(i * 3)
		}),
	})
	return out
}

// names: unicode label values, escapes, and UTF-8 metric and label names.
func names(base int64, r *rand.Rand) []Series {
	vals := func() []FloatSample {
		return regular(base, func(int, int64) float64 { return math.Round(r.Float64()*1000) / 10 })
	}
	return []Series{
		{Labels: lbls("__name__", "cmp_unicode", "job", "names", "text", "ünïcødé ☃ 日本語 🚀"), Floats: vals()},
		{Labels: lbls("__name__", "cmp_unicode", "job", "names", "text", `quote" backslash\ newline`+"\n"+`tab`+"\t"+`end`), Floats: vals()},
		{Labels: lbls("__name__", "cmp_unicode", "job", "names", "text", "{braces},=commas~!"), Floats: vals()},
		{Labels: lbls("__name__", "cmp.utf8.metric", "job", "names", "label.with.dots", "a", "ключ", "значение"), Floats: vals()},
		{Labels: lbls("__name__", "cmp.utf8.metric", "job", "names", "label.with.dots", "b", "label with space", "x y"), Floats: vals()},
		{Labels: lbls("__name__", "cmp-dash metric 😀", "job", "names", "le", "1"), Floats: vals()},
	}
}

// many: cmp_many{idx,group}, 150 gauges.
func many(base int64, r *rand.Rand) []Series {
	var out []Series
	for i := 0; i < 150; i++ {
		start := r.Float64() * 100
		slope := r.Float64()*2 - 1
		out = append(out, Series{
			Labels: lbls("__name__", "cmp_many", "job", "many", "idx", fmt.Sprintf("%03d", i), "group", fmt.Sprintf("g%d", i%10), "parity", []string{"even", "odd"}[i%2]),
			Floats: regular(base, func(j int, _ int64) float64 { return math.Round((start+slope*float64(j))*1000) / 1000 }),
		})
	}
	return out
}
