package promapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// relabelStep is one rule of /targets/relabel_steps and the labels after it.
type relabelStep struct {
	Rule   *relabel.Config `json:"rule"`
	Output labels.Labels   `json:"output"`
	Keep   bool            `json:"keep"`
}

type relabelSteps struct {
	Steps []relabelStep `json:"steps"`
}

// poolConfig returns a scrape pool's configuration, if the target retriever
// knows it.
func (a *API) poolConfig(pool string) (*config.ScrapeConfig, error) {
	pc, ok := a.opts.Targets.(interface {
		ScrapePoolConfig(string) (*config.ScrapeConfig, error)
	})
	if !ok {
		return nil, fmt.Errorf("scrape pool %q not found", pool)
	}
	return pc.ScrapePoolConfig(pool)
}

// targetRelabelSteps applies a pool's relabel_configs one by one to the
// given discovered labels (the UI's "explain relabeling").
func (a *API) targetRelabelSteps(r *http.Request) result {
	pool := r.FormValue("scrapePool")
	if pool == "" {
		return result{err: badData(errors.New("no scrapePool parameter provided"))}
	}
	raw := r.FormValue("labels")
	if raw == "" {
		return result{err: badData(errors.New("no labels parameter provided"))}
	}
	var ls labels.Labels
	if err := json.Unmarshal([]byte(raw), &ls); err != nil {
		return result{err: badData(fmt.Errorf("error parsing labels: %w", err))}
	}
	cfg, err := a.poolConfig(pool)
	if err != nil {
		return result{err: badData(fmt.Errorf("error retrieving scrape config: %w", err))}
	}
	steps := make([]relabelStep, len(cfg.RelabelConfigs))
	b := labels.NewBuilder(ls)
	keep := true
	for i, rule := range cfg.RelabelConfigs {
		if keep {
			keep = relabel.ProcessBuilder(b, rule)
		}
		out := labels.EmptyLabels()
		if keep {
			out = b.Labels()
		}
		steps[i] = relabelStep{Rule: rule, Output: out, Keep: keep}
	}
	return result{data: &relabelSteps{Steps: steps}}
}
