package safety

import (
	"strings"
	"testing"
)

func buildView(s string) *view {
	var v view
	v.build(s, folds(), nil)
	return &v
}

func TestFoldView(t *testing.T) {
	tests := []struct {
		name, in, fold string
	}{
		{"lowercase", "Ignore ALL", "ignore all"},
		{"fullwidth", "ＩＧＮＯＲＥ", "ignore"},
		{"math bold", "𝐢𝐠𝐧𝐨𝐫𝐞", "ignore"},
		{"circled", "ⓘⓖⓝⓞⓡⓔ", "ignore"},
		{"cyrillic look-alikes", "Іgnоrе", "ignore"},
		{"greek look-alikes", "ΙGΝΟRΕ", "ignore"},
		{"accents", "Précédentes Ünd Façade", "precedentes und facade"},
		{"sharp s and ligature", "Straße ﬁle", "strasse file"},
		{"zero-width removed", "ig\u200bno\u200dre", "ignore"},
		{"bidi and tags removed", "a\u202eb\U000E0041c", "abc"},
		{"soft hyphen removed", "ig\u00adnore", "ignore"},
		{"combining marks removed", "i\u0301gnore", "ignore"},
		{"control characters removed", "ig\x00no\x08re", "ignore"},
		{"unicode spaces", "a\u00a0b\u3000c", "a b c"},
		{"smart quotes", "don’t “x”", "don't \"x\""},
		{"fullwidth angle", "＜/tag＞", "</tag>"},
		{"cjk unchanged", "忽略之前", "忽略之前"},
		{"invalid utf-8 dropped", "ig\xffnore", "ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(buildView(tt.in).fold); got != tt.fold {
				t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.fold)
			}
		})
	}
}

func TestSkeleton(t *testing.T) {
	tests := []struct {
		name, in, skel string
	}{
		{"plain", "Ignore all previous", "ignoreaiiprevious"},
		{"spaced letters", "i g n o r e", "ignore"},
		{"dotted letters", "i.g.n.o.r.e", "ignore"},
		{"leetspeak", "1gn0r3 4ll", "ignoreaii"},
		{"digits alone are not letters", "version 2.1 in 2024", "versionin"},
		{"leet symbols inside words", "@ll $ystem", "aiisystem"},
		{"punctuation dropped", "ig-nore, all!", "ignoreaii"},
		{"cjk kept", "忽略 之前", "忽略之前"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(buildView(tt.in).skel); got != tt.skel {
				t.Errorf("skel(%q) = %q, want %q", tt.in, got, tt.skel)
			}
		})
	}
}

func TestSkeletonWordFlags(t *testing.T) {
	v := buildView("you are")
	// y o u a r e: starts at y and a, ends at u and e
	want := []uint8{flagStart, 0, flagEnd, flagStart, 0, flagEnd}
	for i, w := range want {
		if v.skelFlag[i] != w {
			t.Fatalf("flags = %v, want %v", v.skelFlag, want)
		}
	}
	// A change of script is a word boundary.
	v = buildView("次のURLに")
	i := strings.Index(string(v.skel), "uri")
	if i < 0 || v.skelFlag[i]&flagStart == 0 || v.skelFlag[i+2]&flagEnd == 0 {
		t.Fatalf("URL inside Japanese is not its own word: %q %v", v.skel, v.skelFlag)
	}
}

func TestSpansMapToOriginal(t *testing.T) {
	in := "xx ＩＧＮ\u200bＯＲＥ yy"
	v := buildView(in)
	a := strings.Index(string(v.fold), "ignore")
	s, e := v.foldSpan(a, a+len("ignore"))
	if got := in[s:e]; got != "ＩＧＮ\u200bＯＲＥ" {
		t.Fatalf("span = %q", got)
	}
	k := strings.Index(string(v.skel), "ignore")
	s, e = v.skelSpan(k, k+6)
	if got := in[s:e]; got != "ＩＧＮ\u200bＯＲＥ" {
		t.Fatalf("skeleton span = %q", got)
	}
}

func TestUnicodeFindings(t *testing.T) {
	tests := []struct {
		name, in, rule string
		want           bool
	}{
		{"zero-width inside a word", "pass\u200bword", RuleZeroWidth, true},
		{"zero-width joiner in emoji", "👨\u200d👩\u200d👧", RuleZeroWidth, false},
		{"zwnj in persian", "می\u200cخواهم", RuleZeroWidth, false},
		{"byte order mark at start", "\ufeffid,name", RuleZeroWidth, false},
		{"long invisible run", "a" + strings.Repeat("\u200b\u200c", 5) + "b", RuleInvisibleRun, true},
		{"bidi override", "abc\u202edef", RuleBidi, true},
		{"rlm mark is fine", "שלום\u200f abc", RuleBidi, false},
		{"tag characters", "hi\U000E0069\U000E0067\U000E006E", RuleTagChars, true},
		{"scotland flag", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", RuleTagChars, false},
		{"cyrillic a in latin word", "pаypal", RuleMixedScript, true},
		{"fullwidth o in latin word", "nｏw", RuleMixedScript, true},
		{"russian word", "Москва и Berlin", RuleMixedScript, false},
		{"greek letter beside latin", "α-helix and μs", RuleMixedScript, false},
	}
	d := NewDetector(DetectorOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := false
			for _, f := range d.Scan(tt.in) {
				if f.Rule == tt.rule {
					got = true
				}
			}
			if got != tt.want {
				t.Errorf("%s in %q = %v, want %v (findings %v)", tt.rule, tt.in, got, tt.want, d.Scan(tt.in))
			}
		})
	}
}
