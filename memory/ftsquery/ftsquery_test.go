package ftsquery

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("w%d", i)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"My sister's name is Ana", []string{"sister", "name", "ana"}},
		{"the THE of", []string{"the", "of"}},
		{"Zürich trip, zürich!", []string{"zürich", "trip"}},
		{"a & b | !c:* (d)", []string{"b", "c"}},
		{"日本 旅行", []string{"日本", "旅行"}},
		{"   ", nil},
		{"!!! ???", nil},
		{"zebra's stripes, zebra", []string{"zebra", "stripes"}},
		{`zebra" OR *:  -lion`, []string{"zebra", "lion"}},
		{strings.Join(many, " "), many[:MaxWords]},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			if got := Words(tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("Words(%q) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestIsStopword(t *testing.T) {
	if !IsStopword("the") || IsStopword("ana") || IsStopword("The") {
		t.Fatal("stopword table")
	}
}
