package promapi

import (
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// astJSON renders a PromQL syntax tree in the shape /api/v1/parse_query
// returns (the UI's explain view reads it). Objects are maps, so their keys
// come out sorted, as Prometheus's do.
func astJSON(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.AggregateExpr:
		return map[string]any{
			"type": "aggregation", "op": n.Op.String(),
			"expr": astJSON(n.Expr), "param": astJSON(n.Param),
			"grouping": nonNil(n.Grouping), "without": n.Without,
		}
	case *parser.BinaryExpr:
		var matching any
		if m := n.VectorMatching; m != nil {
			matching = map[string]any{
				"card": m.Card.String(), "labels": nonNil(m.MatchingLabels),
				"on": m.On, "include": nonNil(m.Include),
				"fillValues": map[string]*float64{"lhs": m.FillValues.LHS, "rhs": m.FillValues.RHS},
			}
		}
		return map[string]any{
			"type": "binaryExpr", "op": n.Op.String(),
			"lhs": astJSON(n.LHS), "rhs": astJSON(n.RHS),
			"matching": matching, "bool": n.ReturnBool,
		}
	case *parser.Call:
		args := make([]any, 0, len(n.Args))
		for _, arg := range n.Args {
			args = append(args, astJSON(arg))
		}
		return map[string]any{
			"type": "call",
			"func": map[string]any{
				"name": n.Func.Name, "argTypes": n.Func.ArgTypes,
				"variadic": n.Func.Variadic, "returnType": n.Func.ReturnType,
			},
			"args": args,
		}
	case *parser.MatrixSelector:
		vs, _ := n.VectorSelector.(*parser.VectorSelector)
		if vs == nil {
			return nil
		}
		return map[string]any{
			"type": "matrixSelector", "name": vs.Name,
			"range": n.Range.Milliseconds(), "rangeExpr": durationJSON(n.RangeExpr),
			"offset": vs.OriginalOffset.Milliseconds(), "offsetExpr": durationJSON(vs.OriginalOffsetExpr),
			"matchers": matchersJSON(vs.LabelMatchers), "timestamp": vs.Timestamp,
			"startOrEnd": startOrEnd(vs.StartOrEnd), "anchored": vs.Anchored, "smoothed": vs.Smoothed,
		}
	case *parser.SubqueryExpr:
		return map[string]any{
			"type": "subquery", "expr": astJSON(n.Expr),
			"range": n.Range.Milliseconds(), "rangeExpr": durationJSON(n.RangeExpr),
			"offset": n.OriginalOffset.Milliseconds(), "offsetExpr": durationJSON(n.OriginalOffsetExpr),
			"step": n.Step.Milliseconds(), "stepExpr": durationJSON(n.StepExpr),
			"timestamp": n.Timestamp, "startOrEnd": startOrEnd(n.StartOrEnd),
		}
	case *parser.DurationExpr:
		return durationJSON(n)
	case *parser.NumberLiteral:
		return map[string]string{"type": "numberLiteral", "val": strconv.FormatFloat(n.Val, 'f', -1, 64)}
	case *parser.ParenExpr:
		return map[string]any{"type": "parenExpr", "expr": astJSON(n.Expr)}
	case *parser.StringLiteral:
		return map[string]any{"type": "stringLiteral", "val": n.Val}
	case *parser.UnaryExpr:
		return map[string]any{"type": "unaryExpr", "op": n.Op.String(), "expr": astJSON(n.Expr)}
	case *parser.VectorSelector:
		return map[string]any{
			"type": "vectorSelector", "name": n.Name,
			"offset": n.OriginalOffset.Milliseconds(), "offsetExpr": durationJSON(n.OriginalOffsetExpr),
			"matchers": matchersJSON(n.LabelMatchers), "timestamp": n.Timestamp,
			"startOrEnd": startOrEnd(n.StartOrEnd), "anchored": n.Anchored, "smoothed": n.Smoothed,
		}
	}
	return nil // unknown node types render as null rather than panicking
}

// durationJSON renders a duration expression (offset/range/step arithmetic).
func durationJSON(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.DurationExpr:
		if n == nil {
			return nil
		}
		return map[string]any{
			"type": "durationExpr", "op": n.Op.String(),
			"lhs": durationJSON(n.LHS), "rhs": durationJSON(n.RHS), "wrapped": n.Wrapped,
		}
	case *parser.NumberLiteral:
		if n == nil {
			return nil
		}
		return map[string]any{"type": "numberLiteral", "val": strconv.FormatFloat(n.Val, 'f', -1, 64), "duration": n.Duration}
	default:
		return astJSON(n)
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func matchersJSON(ms []*labels.Matcher) []map[string]any {
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"name": m.Name, "value": m.Value, "type": m.Type.String()})
	}
	return out
}

func startOrEnd(t parser.ItemType) any {
	if t == 0 {
		return nil
	}
	return t.String()
}
