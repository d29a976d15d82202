package compliance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
	}{
		{200, `{"status":"success","data":{"version":"0.1.0","revision":""}}`, true},
		{200, `{"status":"success","data":{"version":"","revision":""}}`, false},
		{200, `{"status":"success","data":{}}`, false},
		{500, `{"status":"error"}`, false},
		{200, `not json`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/status/buildinfo" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		}))
		o := CheckVersion(context.Background(), srv.URL)
		srv.Close()
		if o.Result.OK != tc.ok {
			t.Errorf("%d %s: OK = %v (%s), want %v", tc.status, tc.body, o.Result.OK, o.Result.Reason, tc.ok)
		}
	}
}
