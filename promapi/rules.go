package promapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// RulesRetriever gives the live rule groups and alerting rules (the upstream
// rules.Manager implements it). Rules are the default tenant's: /rules and
// /alerts answer the same whatever X-Scope-OrgID says, as /targets does.
type RulesRetriever interface {
	RuleGroups() []*rules.Group
	AlertingRules() []*rules.AlertingRule
}

// AlertmanagerRetriever gives the Alertmanagers the notifier sends to and
// those relabelling dropped (the upstream notifier.Manager implements it).
type AlertmanagerRetriever interface {
	Alertmanagers() []*url.URL
	DroppedAlertmanagers() []*url.URL
}

// The response shapes are Prometheus's web/api/v1 ones, field for field
// (that package is not imported: it pulls the OpenAPI modules into the build).

type ruleDiscovery struct {
	RuleGroups     []*ruleGroup `json:"groups"`
	GroupNextToken string       `json:"groupNextToken,omitempty"`
}

type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

type alertingRule struct {
	State          string           `json:"state"`
	Name           string           `json:"name"`
	Query          string           `json:"query"`
	Duration       float64          `json:"duration"`
	KeepFiringFor  float64          `json:"keepFiringFor"`
	Labels         labels.Labels    `json:"labels"`
	Annotations    labels.Labels    `json:"annotations"`
	Alerts         []*alert         `json:"alerts"`
	Health         rules.RuleHealth `json:"health"`
	LastError      string           `json:"lastError,omitempty"`
	EvaluationTime float64          `json:"evaluationTime"`
	LastEvaluation time.Time        `json:"lastEvaluation"`
	Type           string           `json:"type"`
}

type recordingRule struct {
	Name           string           `json:"name"`
	Query          string           `json:"query"`
	Labels         labels.Labels    `json:"labels"`
	Health         rules.RuleHealth `json:"health"`
	LastError      string           `json:"lastError,omitempty"`
	EvaluationTime float64          `json:"evaluationTime"`
	LastEvaluation time.Time        `json:"lastEvaluation"`
	Type           string           `json:"type"`
}

type alertDiscovery struct {
	Alerts []*alert `json:"alerts"`
}

type alert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"`
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
}

type alertmanagerDiscovery struct {
	ActiveAlertmanagers  []*alertmanagerTarget `json:"activeAlertmanagers"`
	DroppedAlertmanagers []*alertmanagerTarget `json:"droppedAlertmanagers"`
}

type alertmanagerTarget struct {
	URL string `json:"url"`
}

func toAPIAlerts(in []*rules.Alert) []*alert {
	out := make([]*alert, len(in))
	for i, a := range in {
		out[i] = &alert{
			Labels:      a.Labels,
			Annotations: a.Annotations,
			State:       a.State.String(),
			ActiveAt:    &a.ActiveAt,
			Value:       strconv.FormatFloat(a.Value, 'e', -1, 64),
		}
		if !a.KeepFiringSince.IsZero() {
			out[i].KeepFiringSince = &a.KeepFiringSince
		}
	}
	return out
}

func formSet(values []string) map[string]struct{} {
	set := make(map[string]struct{}, len(values))
	for _, v := range values {
		set[v] = struct{}{}
	}
	return set
}

// groupNextToken is Prometheus's pagination token: the hex SHA-256 of
// "file;group", so a client's token stays valid across servers.
func groupNextToken(file, group string) string {
	h := sha256.Sum256([]byte(file + ";" + group))
	return hex.EncodeToString(h[:])
}

// Rules run on the default tenant only (the config's rule_files, as in
// Prometheus): /rules and /alerts answer another tenant's requests
// (X-Scope-OrgID) with no groups and no alerts, which is what runs there.
func (a *API) rules(r *http.Request) result {
	tenant, apiErr := a.tenantID(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if err := r.ParseForm(); err != nil {
		return result{err: badData(fmt.Errorf("error parsing form values: %w", err))}
	}
	rnSet := formSet(r.Form["rule_name[]"])
	rgSet := formSet(r.Form["rule_group[]"])
	fSet := formSet(r.Form["file[]"])
	matcherSets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		return result{err: badData(err)}
	}
	q := r.URL.Query()
	typ := strings.ToLower(q.Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		return result{err: invalidParam(fmt.Errorf("not supported value %q", typ), "type")}
	}
	returnAlerts := typ == "" || typ == "alert"
	returnRecording := typ == "" || typ == "record"
	excludeAlerts := false
	if v := strings.ToLower(q.Get("exclude_alerts")); v != "" {
		if excludeAlerts, err = strconv.ParseBool(v); err != nil {
			return result{err: invalidParam(fmt.Errorf("error converting exclude_alerts: %w", err), "exclude_alerts")}
		}
	}
	maxGroups, nextToken := int64(-1), ""
	if mg, nt := q.Get("group_limit"), q.Get("group_next_token"); nt != "" && mg == "" {
		return result{err: invalidParam(errors.New("group_limit needs to be present in order to paginate over the groups"), "group_next_token")}
	} else if mg != "" {
		n, err := strconv.ParseInt(mg, 10, 32)
		if err != nil {
			return result{err: invalidParam(fmt.Errorf("group_limit needs to be a valid number: %w", err), "group_limit")}
		}
		if n <= 0 {
			return result{err: invalidParam(errors.New("group_limit needs to be greater than 0"), "group_limit")}
		}
		maxGroups, nextToken = n, nt
	}

	var groups []*rules.Group
	if rr := a.rulesOf(tenant); rr != nil {
		groups = rr.RuleGroups()
	}
	res := &ruleDiscovery{}
	rgs := make([]*ruleGroup, 0, len(groups))
	foundToken := false
	for _, grp := range groups {
		if maxGroups > 0 && nextToken != "" && !foundToken {
			if nextToken != groupNextToken(grp.File(), grp.Name()) {
				continue
			}
			foundToken = true
		}
		if _, ok := rgSet[grp.Name()]; len(rgSet) > 0 && !ok {
			continue
		}
		if _, ok := fSet[grp.File()]; len(fSet) > 0 && !ok {
			continue
		}
		g := &ruleGroup{
			Name:           grp.Name(),
			File:           grp.File(),
			Interval:       grp.Interval().Seconds(),
			Limit:          grp.Limit(),
			Rules:          []any{},
			EvaluationTime: grp.GetEvaluationTime().Seconds(),
			LastEvaluation: grp.GetLastEvaluation(),
		}
		for _, rr := range grp.Rules(matcherSets...) {
			if _, ok := rnSet[rr.Name()]; len(rnSet) > 0 && !ok {
				continue
			}
			lastError := ""
			if e := rr.LastError(); e != nil {
				lastError = e.Error()
			}
			switch rule := rr.(type) {
			case *rules.AlertingRule:
				if !returnAlerts {
					continue
				}
				var active []*alert
				if !excludeAlerts {
					active = toAPIAlerts(rule.ActiveAlerts())
				}
				g.Rules = append(g.Rules, alertingRule{
					State:          rule.State().String(),
					Name:           rule.Name(),
					Query:          rule.Query().String(),
					Duration:       rule.HoldDuration().Seconds(),
					KeepFiringFor:  rule.KeepFiringFor().Seconds(),
					Labels:         rule.Labels(),
					Annotations:    rule.Annotations(),
					Alerts:         active,
					Health:         rule.Health(),
					LastError:      lastError,
					EvaluationTime: rule.GetEvaluationDuration().Seconds(),
					LastEvaluation: rule.GetEvaluationTimestamp(),
					Type:           "alerting",
				})
			case *rules.RecordingRule:
				if !returnRecording {
					continue
				}
				g.Rules = append(g.Rules, recordingRule{
					Name:           rule.Name(),
					Query:          rule.Query().String(),
					Labels:         rule.Labels(),
					Health:         rule.Health(),
					LastError:      lastError,
					EvaluationTime: rule.GetEvaluationDuration().Seconds(),
					LastEvaluation: rule.GetEvaluationTimestamp(),
					Type:           "recording",
				})
			default:
				return result{err: &apiError{errorInternal, fmt.Errorf("failed to assert type of rule '%v'", rule.Name())}}
			}
		}
		// A group whose rules were all filtered out is left out.
		if len(g.Rules) == 0 {
			continue
		}
		if maxGroups > 0 && len(rgs) == int(maxGroups) {
			// One group past the page: there is a next page.
			res.GroupNextToken = groupNextToken(grp.File(), grp.Name())
			break
		}
		rgs = append(rgs, g)
	}
	if maxGroups > 0 && nextToken != "" && !foundToken {
		return result{err: invalidParam(fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", nextToken), "group_next_token")}
	}
	res.RuleGroups = rgs
	return result{data: res}
}

// rulesOf returns the rules that run for a tenant, nil if none do.
func (a *API) rulesOf(tenant string) RulesRetriever {
	if tenant == DefaultTenant {
		return a.opts.Rules
	}
	if a.opts.TenantRules != nil {
		return a.opts.TenantRules(tenant)
	}
	return nil
}

func (a *API) alerts(r *http.Request) result {
	tenant, apiErr := a.tenantID(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	list := []*alert{}
	if rr := a.rulesOf(tenant); rr != nil {
		for _, ar := range rr.AlertingRules() {
			list = append(list, toAPIAlerts(ar.ActiveAlerts())...)
		}
	}
	return result{data: &alertDiscovery{Alerts: list}}
}

func (a *API) alertmanagers(*http.Request) result {
	var active, dropped []*url.URL
	if a.opts.Alertmanagers != nil {
		active, dropped = a.opts.Alertmanagers.Alertmanagers(), a.opts.Alertmanagers.DroppedAlertmanagers()
	}
	res := &alertmanagerDiscovery{
		ActiveAlertmanagers:  make([]*alertmanagerTarget, len(active)),
		DroppedAlertmanagers: make([]*alertmanagerTarget, len(dropped)),
	}
	for i, u := range active {
		res.ActiveAlertmanagers[i] = &alertmanagerTarget{URL: u.String()}
	}
	for i, u := range dropped {
		res.DroppedAlertmanagers[i] = &alertmanagerTarget{URL: u.String()}
	}
	return result{data: res}
}
