package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestStartTimestampFeaturesAsPrometheus: with the start-timestamp options
// mytsdb honours (st-synthesis, use-start-timestamps), /api/v1/features is
// the document the real Prometheus serves with the same options.
func TestStartTimestampFeaturesAsPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
	var got []map[string]map[string]bool
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--enable-feature=st-synthesis,use-start-timestamps")
		p.waitReady(30 * time.Second)
		resp, err := http.Get(p.url("/api/v1/features"))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Data map[string]map[string]bool `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !r.Data["scrape"]["st-synthesis"] {
			t.Errorf("%s: scrape.st-synthesis is not true: %v", filepath.Base(bin), r.Data["scrape"])
		}
		got = append(got, r.Data)
	}
	for section, want := range got[1] {
		if !reflect.DeepEqual(got[0][section], want) {
			t.Errorf("features section %s:\nmytsdb     %v\nprometheus %v", section, got[0][section], want)
		}
	}
	for section := range got[0] {
		if _, ok := got[1][section]; !ok {
			t.Errorf("mytsdb has a features section %s Prometheus lacks", section)
		}
	}
}
