package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/promql"
)

// errorType is the "errorType" string of an error response.
type errorType string

const (
	errorTimeout       errorType = "timeout"
	errorCanceled      errorType = "canceled"
	errorExec          errorType = "execution"
	errorBadData       errorType = "bad_data"
	errorInternal      errorType = "internal"
	errorUnavailable   errorType = "unavailable"
	errorNotFound      errorType = "not_found"
	errorNotAcceptable errorType = "not_acceptable"
	errorCostLimit     errorType = "cost_limit"
)

// statusClientClosedConnection is nginx's non-standard code, used by Prometheus
// when the client went away (a canceled query).
const statusClientClosedConnection = 499

// httpStatus maps an error type to the status code Prometheus answers with.
// Note that "unavailable" is a 500, not a 503: Prometheus has no case for it.
func (t errorType) httpStatus() int {
	switch t {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec, errorCostLimit:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientClosedConnection
	case errorTimeout:
		return http.StatusServiceUnavailable
	case errorNotFound:
		return http.StatusNotFound
	case errorNotAcceptable:
		return http.StatusNotAcceptable
	default:
		return http.StatusInternalServerError
	}
}

// apiError is an error with the type reported to the client.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func badData(err error) *apiError { return &apiError{errorBadData, err} }

// invalidParam is the bad_data error for a parameter that did not parse.
func invalidParam(err error, name string) *apiError {
	return &apiError{errorBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// classify maps an engine or storage error to its API error type the way
// Prometheus does: canceled, timeout, cost limits, storage errors (internal),
// and everything else as an execution error.
func classify(err error) *apiError {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[promql.ErrQueryCanceled](err); ok {
		return &apiError{errorCanceled, err}
	}
	if _, ok := errors.AsType[promql.ErrQueryTimeout](err); ok {
		return &apiError{errorTimeout, err}
	}
	if _, ok := errors.AsType[promql.ErrTooManySeries](err); ok {
		return &apiError{errorCostLimit, err}
	}
	if _, ok := errors.AsType[promql.ErrTooManySamplesRead](err); ok {
		return &apiError{errorCostLimit, err}
	}
	if _, ok := errors.AsType[promql.ErrStorage](err); ok {
		return &apiError{errorInternal, err}
	}
	if errors.Is(err, context.Canceled) {
		return &apiError{errorCanceled, err}
	}
	return &apiError{errorExec, err}
}

// constructionError maps an error from building a query (NewInstantQuery,
// NewRangeQuery): limits above the ceiling are bad data with the engine's
// message, running out of time or being canceled keep their type, anything
// else is a bad "query" parameter.
func constructionError(err error) *apiError {
	if _, ok := errors.AsType[promql.ErrLimitAboveCeiling](err); ok {
		return badData(err)
	}
	if _, ok := errors.AsType[promql.ErrQueryTimeout](err); ok {
		return classify(err)
	}
	if _, ok := errors.AsType[promql.ErrQueryCanceled](err); ok {
		return classify(err)
	}
	return invalidParam(err, "query")
}

// errorString is a constant error message.
type errorString string

func (e errorString) Error() string { return string(e) }
