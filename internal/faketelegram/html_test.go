package faketelegram

import "testing"

func TestParseHTMLLikeTelegram(t *testing.T) {
	for _, tc := range []struct {
		in, visible string
		ok          bool
	}{
		{"<b>bold</b> &amp; &lt;tag&gt; &#34;q&#x22;", `bold & <tag> "q"`, true},
		{`<a href="https://x.y/?a=1&amp;b=2">link</a>`, "link", true},
		{`<pre><code class="language-go">x</code></pre>`, "x", true},
		{"a < b", "", false},
		{"a > b", "", false},
		{"fish & chips", "", false},
		{"<b>unclosed", "", false},
		{"<b><i>crossed</b></i>", "", false},
		{"<div>no</div>", "", false},
		{"<a>no href</a>", "", false},
		{"snake_case_is_fine *and* stars", "snake_case_is_fine *and* stars", true},
	} {
		v, err := ParseHTML(tc.in)
		if (err == nil) != tc.ok || (tc.ok && v != tc.visible) {
			t.Errorf("ParseHTML(%q) = %q, %v; want %q ok=%v", tc.in, v, err, tc.visible, tc.ok)
		}
	}
}
