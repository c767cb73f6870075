// Command trivial is the smallest useful tool: it echoes its text
// parameter. The sandbox benchmarks measure per-call overhead with it.
package main

import "github.com/hearthbot/hearth/sandbox/guest"

type params struct {
	Text string `json:"text"`
}

func init() {
	guest.Register("Echo the text parameter.",
		`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`,
		func(_ *guest.Context, p params) (string, error) { return p.Text, nil })
}

func main() {}
