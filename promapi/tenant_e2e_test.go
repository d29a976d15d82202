package promapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"

	"mytsdb/promapi/remotewrite"
)

// TestTenantsEndToEnd writes through the remote-write receiver mounted on
// our API with X-Scope-OrgID and reads back per tenant.
func TestTenantsEndToEnd(t *testing.T) {
	stores := map[string]*teststorage.TestStorage{}
	get := func(id string) *teststorage.TestStorage {
		if stores[id] == nil {
			stores[id] = teststorage.New(t)
		}
		return stores[id]
	}
	api := New(Options{
		Engine:  testEngine(),
		Storage: func(id string) (TenantStorage, error) { return get(id), nil },
		RemoteWrite: remotewrite.NewHandler(remotewrite.Options{
			Appendable: func(id string) (storage.AppendableV2, error) { return get(id), nil },
		}),
	})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	base := dataBase()
	set := testDataSet(base)
	raw, err := writeRequest(set[:3], base).Marshal() // the three test_gauge series
	if err != nil {
		t.Fatal(err)
	}
	post := func(tenant string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		if tenant != "" {
			req.Header.Set(TenantHeader, tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("acme"); code != http.StatusNoContent {
		t.Fatalf("remote write for acme: %d", code)
	}
	count := func(tenant string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/query?"+url.Values{"query": {"count(test_gauge)"}, "time": {sec(base + 60000)}}.Encode(), nil)
		if tenant != "" {
			req.Header.Set(TenantHeader, tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.StatusCode, " ")
		buf := new(bytes.Buffer)
		_, _ = buf.ReadFrom(resp.Body)
		b.Write(buf.Bytes())
		return b.String()
	}
	if got := count("acme"); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"3"]`) {
		t.Errorf("acme: %s", got)
	}
	if got := count(""); got != `200 {"status":"success","data":{"resultType":"vector","result":[]}}` {
		t.Errorf("default tenant sees acme's data: %s", got)
	}
	if got := count("other"); got != `200 {"status":"success","data":{"resultType":"vector","result":[]}}` {
		t.Errorf("other tenant sees acme's data: %s", got)
	}
	if got := count("bad/tenant"); !strings.HasPrefix(got, `400 {"status":"error","errorType":"bad_data"`) {
		t.Errorf("invalid tenant: %s", got)
	}
}
