package promapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Rules and alerting are not wired yet: /rules, /alerts and /alertmanagers
// validate their parameters like Prometheus and answer with empty lists of
// the right shape (Grafana calls them on every dashboard load).

type ruleDiscovery struct {
	RuleGroups     []struct{} `json:"groups"`
	GroupNextToken string     `json:"groupNextToken,omitempty"`
}

func (a *API) rules(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return result{err: badData(fmt.Errorf("error parsing form values: %w", err))}
	}
	if _, err := a.parseMatchers(r.Form["match[]"]); err != nil {
		return result{err: badData(err)}
	}
	q := r.URL.Query()
	typ := strings.ToLower(q.Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		return result{err: invalidParam(fmt.Errorf("not supported value %q", typ), "type")}
	}
	if v := strings.ToLower(q.Get("exclude_alerts")); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return result{err: invalidParam(fmt.Errorf("error converting exclude_alerts: %w", err), "exclude_alerts")}
		}
	}
	maxGroups, nextToken := q.Get("group_limit"), q.Get("group_next_token")
	if nextToken != "" && maxGroups == "" {
		return result{err: invalidParam(errors.New("group_limit needs to be present in order to paginate over the groups"), "group_next_token")}
	}
	if maxGroups != "" {
		n, err := strconv.ParseInt(maxGroups, 10, 32)
		if err != nil {
			return result{err: invalidParam(fmt.Errorf("group_limit needs to be a valid number: %w", err), "group_limit")}
		}
		if n <= 0 {
			return result{err: invalidParam(errors.New("group_limit needs to be greater than 0"), "group_limit")}
		}
		if nextToken != "" { // no group can carry the token
			return result{err: invalidParam(fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", nextToken), "group_next_token")}
		}
	}
	return result{data: &ruleDiscovery{RuleGroups: []struct{}{}}}
}

type alertDiscovery struct {
	Alerts []struct{} `json:"alerts"`
}

func (a *API) alerts(*http.Request) result {
	return result{data: &alertDiscovery{Alerts: []struct{}{}}}
}

type alertmanagerDiscovery struct {
	ActiveAlertmanagers  []struct{} `json:"activeAlertmanagers"`
	DroppedAlertmanagers []struct{} `json:"droppedAlertmanagers"`
}

func (a *API) alertmanagers(*http.Request) result {
	return result{data: &alertmanagerDiscovery{ActiveAlertmanagers: []struct{}{}, DroppedAlertmanagers: []struct{}{}}}
}
