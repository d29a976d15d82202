package compare

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SideBySide renders the two responses in two columns, marking differing
// lines with '!'. Long outputs are cut around the first difference.
func (r Result) SideBySide(width int) string {
	left, right := strings.Split(r.Ref, "\n"), strings.Split(r.Cand, "\n")
	n := max(len(left), len(right))
	first := -1
	for i := 0; i < n; i++ {
		if at(left, i) != at(right, i) {
			first = i
			break
		}
	}
	from, to := 0, n
	const context, maxLines = 15, 60
	if n > maxLines {
		from = max(0, first-context)
		to = min(n, from+maxLines)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %-*s | %s\n", width, "reference", "candidate")
	if from > 0 {
		fmt.Fprintf(&b, "  ... %d lines above\n", from)
	}
	for i := from; i < to; i++ {
		mark := ' '
		if at(left, i) != at(right, i) {
			mark = '!'
		}
		fmt.Fprintf(&b, "%c %s | %s\n", mark, pad(clip(at(left, i), width), width), clip(at(right, i), width))
	}
	if to < n {
		fmt.Fprintf(&b, "  ... %d lines below\n", n-to)
	}
	return b.String()
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func clip(s string, w int) string {
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	r := []rune(s)
	return string(r[:w-1]) + "…"
}

func pad(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(s)))
}
