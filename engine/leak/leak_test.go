package leak

import (
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Fake credentials are assembled at run time so that this file itself
// does not look like it carries keys.
var (
	fakeOpenAI    = "sk-" + "proj-" + strings.Repeat("Ab3dE", 8)
	fakeAnthropic = "sk-" + "ant-api03-" + strings.Repeat("Xy7_z", 12)
	fakeAWSID     = "AKIA" + "IOSFODNN7EXAMPL1"
	fakeAWSSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
	fakeGitHub    = "ghp_" + strings.Repeat("a1B2", 9)
	fakeGitHubPAT = "github_pat_" + strings.Repeat("11ABCDEFG_", 6)
	fakeSlack     = "xoxb-" + "123456789012-abcdefABCDEF1234"
	fakeWebhook   = "https://hooks.slack.com/services/" + "T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
	fakeStripe    = "sk_live_" + strings.Repeat("4eC39Hq", 4)
	fakeGoogle    = "AIza" + "SyA-" + strings.Repeat("b2C3d", 7)
	fakeGoogleOA  = "ya29." + strings.Repeat("a0Af", 8)
	fakeJWT       = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	fakePEM       = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"
	fakeSSH       = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
	fakeHex       = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

func TestRulesFindCredentials(t *testing.T) {
	d := New(Options{})
	tests := []struct {
		name  string
		text  string
		rule  string
		match string // the exact span expected
	}{
		{"openai", "key: " + fakeOpenAI + " end", RuleOpenAI, fakeOpenAI},
		{"anthropic", "ANTHROPIC_API_KEY=" + fakeAnthropic, RuleAnthropic, fakeAnthropic},
		{"aws id", "id " + fakeAWSID + ".", RuleAWSAccessKey, fakeAWSID},
		{"aws secret", "aws_secret_access_key = " + fakeAWSSecret + "\n", RuleAWSSecretKey, fakeAWSSecret},
		{"aws secret env", "AWS_SECRET_ACCESS_KEY=\"" + fakeAWSSecret + "\"", RuleAWSSecretKey, fakeAWSSecret},
		{"github classic", "token " + fakeGitHub, RuleGitHub, fakeGitHub},
		{"github pat", "(" + fakeGitHubPAT + ")", RuleGitHub, fakeGitHubPAT},
		{"slack", "SLACK=" + fakeSlack, RuleSlack, fakeSlack},
		{"slack webhook", "post to " + fakeWebhook, RuleSlackWebhook, fakeWebhook},
		{"stripe", fakeStripe, RuleStripe, fakeStripe},
		{"google api key", "key=" + fakeGoogle + "&", RuleGoogleAPIKey, fakeGoogle},
		{"google oauth", "access " + fakeGoogleOA, RuleGoogleOAuth, fakeGoogleOA},
		{"pem", "x\n" + fakePEM + "\ny", RulePrivateKey, fakePEM},
		{"ssh", fakeSSH, RuleSSHPrivateKey, fakeSSH},
		{"pem cut off", "-----BEGIN " + "EC PRIVATE KEY-----\nMHcCAQEEIBL", RulePrivateKey, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBL"},
		{"bearer", "Authorization: Bearer abcDEF123456ghiJKL789", RuleBearer, "abcDEF123456ghiJKL789"},
		{"bearer lower", "authorization: bearer 0123456789abcdefXYZ", RuleBearer, "0123456789abcdefXYZ"},
		{"basic", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("ana:hunter22")), RuleBasicAuth, base64.StdEncoding.EncodeToString([]byte("ana:hunter22"))},
		{"jwt", "cookie=" + fakeJWT, RuleJWT, fakeJWT},
		{"url password", "postgres://app:s3cr3t-pw@db.internal:5432/x", RuleURLPassword, "s3cr3t-pw"},
		{"hex", "sig " + fakeHex + " ok", RuleHighEntropyHex, fakeHex},
		{"hex 0x", "0x" + fakeHex, RuleHighEntropyHex, fakeHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := d.Scan(tt.text)
			if len(fs) != 1 {
				t.Fatalf("Scan(%q) = %+v, want exactly one %s finding", tt.text, fs, tt.rule)
			}
			f := fs[0]
			if f.Rule != tt.rule || tt.text[f.Start:f.End] != tt.match {
				t.Fatalf("finding %s %q, want %s %q", f.Rule, tt.text[f.Start:f.End], tt.rule, tt.match)
			}
			if f.Action != DefaultAction(tt.rule) {
				t.Fatalf("action %s, want %s", f.Action, DefaultAction(tt.rule))
			}
		})
	}
}

func TestBenignTextHasNoFindings(t *testing.T) {
	d := New(Options{})
	benign := []string{
		"the task-management tool is in the sk-learn-documentation-pages folder",
		"risk-free; desk-bound; ask-me-anything-about-everything-today",
		"Bearer authentication is described in RFC 6750",
		"basic settings are fine, the basic idea works",
		"git commit 3f2a1b9 and a short hex deadbeef",
		"AKIA is a prefix, but AKIAshort is not a key",
		"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
		"https://example.com/path?q=1 and http://user@host/ without password",
		"the word eyJust looks odd but is not a token",
		strings.Repeat("a", 64) + " is low entropy",
		"xoxo-hugs and xoxb-short",
		"ghp_tooShort and github_pat_tiny",
	}
	for _, text := range benign {
		if fs := d.Scan(text); len(fs) != 0 {
			t.Errorf("Scan(%q) = %+v, want none", text, fs)
		}
	}
}

func TestStoredSecretForms(t *testing.T) {
	const value = "hunter2-Secret+Value/42"
	d := New(Options{})
	d.AddSecret("github_token", value)
	tests := []struct {
		name string
		text string
	}{
		{"raw", "token is " + value},
		{"query escaped", "https://x.test/?t=" + url.QueryEscape(value)},
		{"path escaped", "/v1/" + url.PathEscape(value) + "/x"},
		{"base64", "data " + base64.StdEncoding.EncodeToString([]byte(value))},
		{"base64 url", base64.URLEncoding.EncodeToString([]byte(value))},
		{"basic header shift 1", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:"+value))},
		{"basic header shift 2", "Basic " + base64.StdEncoding.EncodeToString([]byte("ab:"+value))},
		{"basic header shift 0", "Basic " + base64.StdEncoding.EncodeToString([]byte("ana:"+value))},
		{"hex", "68756e74657232" + "x"}, // deliberately not the full value: must not match
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Finding
			for _, f := range d.Scan(tt.text) {
				if f.Rule == RuleStoredSecret {
					got = append(got, f)
				}
			}
			if tt.name == "hex" {
				if len(got) != 0 {
					t.Fatalf("partial hex matched: %+v", got)
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("Scan(%q): stored secret not found", tt.text)
			}
			if got[0].SecretName != "github_token" || got[0].Action != ActionBlock {
				t.Fatalf("finding %+v, want github_token/block", got[0])
			}
		})
	}
	full := strings.ToUpper("68756e746572322d5365637265742b56616c75652f3432")
	if fs := d.Scan("hex " + full); len(fs) == 0 || fs[0].Rule != RuleStoredSecret {
		t.Fatalf("upper-case hex form not found: %+v", fs)
	}
}

func TestShortSecretsAreIgnoredAndSetSecretsReplaces(t *testing.T) {
	d := New(Options{})
	d.SetSecrets(map[string]string{"pin": "1234", "api": "correct-horse-battery"})
	if d.SecretCount() != 1 {
		t.Fatalf("SecretCount = %d, want 1 (short value ignored)", d.SecretCount())
	}
	if fs := d.Scan("pin 1234"); len(fs) != 0 {
		t.Fatalf("short secret matched: %+v", fs)
	}
	d.SetSecrets(map[string]string{"other": "another-long-value"})
	if fs := d.Scan("correct-horse-battery"); len(fs) != 0 {
		t.Fatalf("replaced secret still matched: %+v", fs)
	}
	if fs := d.Scan("x another-long-value y"); len(fs) != 1 || fs[0].SecretName != "other" {
		t.Fatalf("new secret not matched: %+v", fs)
	}
}

func TestWithSecretsDoesNotChangeParent(t *testing.T) {
	base := New(Options{})
	base.AddSecret("shared", "shared-secret-value")
	child := base.WithSecrets(map[string]string{"user": "user-only-secret"})
	if fs := child.Scan("shared-secret-value user-only-secret"); len(fs) != 2 {
		t.Fatalf("child findings %+v, want both secrets", fs)
	}
	if fs := base.Scan("user-only-secret"); len(fs) != 0 {
		t.Fatalf("parent learned child's secret: %+v", fs)
	}
}

func TestRedact(t *testing.T) {
	d := New(Options{})
	d.AddSecret("gh", fakeGitHub)
	text := "a " + fakeGitHub + " b " + fakeOpenAI + " c " + fakeHex
	got, fs := d.Redact(text)
	want := "a [REDACTED:secret:gh] b [REDACTED:openai_key] c " + fakeHex
	if got != want {
		t.Fatalf("Redact = %q\nwant     %q", got, want)
	}
	// gh is both a stored secret and a GitHub token: two overlapping
	// findings, one marker.
	if len(fs) != 4 {
		t.Fatalf("findings %+v, want 4 (secret, github, openai, hex)", fs)
	}
	if Strictest(fs) != ActionBlock {
		t.Fatalf("Strictest = %s, want block", Strictest(fs))
	}
	if desc := Describe(fs); strings.Contains(desc, fakeGitHub) || !strings.Contains(desc, "stored_secret (gh)") {
		t.Fatalf("Describe = %q", desc)
	}
	clean, none := d.Redact("nothing here")
	if clean != "nothing here" || none != nil {
		t.Fatalf("clean text changed: %q %+v", clean, none)
	}
}

func TestOptions(t *testing.T) {
	d := New(Options{
		Actions:  map[string]Action{RuleHighEntropyHex: ActionRedact, RuleOpenAI: ActionBlock},
		Disabled: []string{RuleJWT},
	})
	fs := d.Scan(fakeHex + " " + fakeOpenAI + " " + fakeJWT)
	if len(fs) != 2 {
		t.Fatalf("findings %+v, want hex and openai only (jwt disabled)", fs)
	}
	if fs[0].Action != ActionRedact || fs[1].Action != ActionBlock {
		t.Fatalf("overridden actions not applied: %+v", fs)
	}
	bad := []Options{
		{Actions: map[string]Action{"nope": ActionWarn}},
		{Actions: map[string]Action{RuleJWT: "explode"}},
		{Disabled: []string{"nope"}},
		{HexMinEntropy: 5},
	}
	for _, o := range bad {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", o)
		}
	}
	if err := (Options{Actions: map[string]Action{RuleJWT: ActionWarn}}).Validate(); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
}

func TestConcurrentAddAndScan(t *testing.T) {
	d := New(Options{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			d.AddSecret("s", "value-number-"+strings.Repeat("x", i%5+8))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			_ = d.Scan("value-number-xxxxxxxx and more text")
		}
	}()
	wg.Wait()
	if fs := d.Scan("value-number-" + strings.Repeat("x", 199%5+8)); len(fs) == 0 {
		t.Fatal("last added secret not found")
	}
}

func TestRulesListsEveryDefault(t *testing.T) {
	rules := Rules()
	if len(rules) != len(defaultActions) {
		t.Fatalf("Rules() = %v", rules)
	}
	for _, r := range rules {
		if !DefaultAction(r).Valid() {
			t.Fatalf("rule %s has invalid default action", r)
		}
	}
	if DefaultAction("unknown") != ActionBlock {
		t.Fatal("unknown rule must fail closed")
	}
}

func TestByteClassTreatsEdgeDashAsLiteral(t *testing.T) {
	got := ""
	for c := 0; c < 256; c++ {
		if triggers[c] {
			got += string(rune(c))
		}
	}
	if got != "-:ABGPabeghrswxy" {
		t.Fatalf("triggers = %q", got)
	}
}

// FuzzRedact checks that for any text around a stored secret, the
// redacted text never contains the secret and spans stay in bounds.
func FuzzRedact(f *testing.F) {
	const secret = "fuzz-secret-Value-99"
	for _, seed := range []string{"", "Bearer ", "-----BEGIN ", "sk-", "xoxb-", "://a:b@", "eyJ", fakeHex[:40], "\x00\xff"} {
		f.Add(seed, seed)
	}
	d := New(Options{})
	d.AddSecret("fz", secret)
	f.Fuzz(func(t *testing.T, before, after string) {
		text := before + secret + after
		for _, fd := range d.Scan(text) {
			if fd.Start < 0 || fd.End > len(text) || fd.Start >= fd.End {
				t.Fatalf("finding out of bounds: %+v in %d bytes", fd, len(text))
			}
		}
		red, _ := d.Redact(text)
		if strings.Contains(red, secret) {
			t.Fatalf("redacted text still holds the secret: %q", red)
		}
	})
}
