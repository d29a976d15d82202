package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// node is a JSON value that keeps object key order and literal numbers.
type node struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []*node
	lit  string // string value, number text, "true"/"false"
}

func parseJSON(b []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &node{kind: 'a'}
		if t == '{' {
			n.kind = 'o'
		}
		for dec.More() {
			if n.kind == 'o' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &node{kind: 's', lit: t}, nil
	case json.Number:
		return &node{kind: 'n', lit: t.String()}, nil
	case bool:
		return &node{kind: 'b', lit: fmt.Sprint(t)}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// get returns the value of key k of an object, or nil.
func (n *node) get(k string) *node {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i, kk := range n.keys {
		if kk == k {
			return n.vals[i]
		}
	}
	return nil
}

// del removes key k from an object, if present.
func (n *node) del(k string) {
	if n == nil || n.kind != 'o' {
		return
	}
	for i, kk := range n.keys {
		if kk == k {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i], n.vals[i+1:]...)
			return
		}
	}
}

// sortArray sorts an array's elements by their rendering.
func (n *node) sortArray() {
	if n == nil || n.kind != 'a' {
		return
	}
	sort.SliceStable(n.vals, func(i, j int) bool { return n.vals[i].String() < n.vals[j].String() })
}

// sortTies sorts, within each run of consecutive array elements whose
// "value" fields are equal, the elements by their rendering.
func (n *node) sortTies() {
	if n == nil || n.kind != 'a' {
		return
	}
	for i := 0; i < len(n.vals); {
		j := i + 1
		for j < len(n.vals) && n.vals[j].get("value").String() == n.vals[i].get("value").String() {
			j++
		}
		run := n.vals[i:j]
		sort.SliceStable(run, func(a, b int) bool { return run[a].String() < run[b].String() })
		i = j
	}
}

// String renders compactly (keys in their original order).
func (n *node) String() string {
	if n == nil {
		return "<absent>"
	}
	var b strings.Builder
	n.write(&b, "", "")
	return b.String()
}

// Indent renders one element per line.
func (n *node) Indent() string {
	var b strings.Builder
	n.write(&b, "\n", "  ")
	return b.String()
}

func (n *node) write(b *strings.Builder, nl, ind string) {
	n.writeAt(b, nl, ind, "")
}

func (n *node) writeAt(b *strings.Builder, nl, ind, cur string) {
	switch n.kind {
	case 'o', 'a':
		open, closing := "[", "]"
		if n.kind == 'o' {
			open, closing = "{", "}"
		}
		if len(n.vals) == 0 {
			b.WriteString(open + closing)
			return
		}
		// Small leaf arrays (a sample [t,"v"]) stay on one line.
		if nl != "" && n.kind == 'a' && len(n.vals) <= 2 && n.leaves() {
			n.writeAt(b, "", "", "")
			return
		}
		b.WriteString(open)
		inner := cur + ind
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(nl + inner)
			if n.kind == 'o' {
				k, _ := json.Marshal(n.keys[i])
				b.Write(k)
				b.WriteString(":")
			}
			v.writeAt(b, nl, ind, inner)
		}
		b.WriteString(nl + cur + closing)
	case 's':
		s, _ := json.Marshal(n.lit)
		b.Write(s)
	case 'z':
		b.WriteString("null")
	default:
		b.WriteString(n.lit)
	}
}

func (n *node) leaves() bool {
	for _, v := range n.vals {
		if v.kind == 'o' || v.kind == 'a' {
			return false
		}
	}
	return true
}
