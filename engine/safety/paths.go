package safety

import (
	"bytes"
	"strings"
	"sync"
)

// pathKind says which rule a sensitive path belongs to and what it takes
// to report it.
type pathKind struct {
	rule string
	// exfilOnly: reported only with a sending verb (the file is commonly
	// read in tutorials, e.g. /etc/passwd).
	exfilOnly bool
	// always: reported without any verb (cloud metadata endpoints).
	always bool
}

var (
	kindKey       = pathKind{rule: RuleSSHKey}
	kindKeyDir    = pathKind{rule: RuleSSHKey, exfilOnly: true}
	kindSys       = pathKind{rule: RuleSystemCreds}
	kindPasswd    = pathKind{rule: RuleSystemCreds, exfilOnly: true}
	kindCloud     = pathKind{rule: RuleCloudCreds}
	kindCloudSend = pathKind{rule: RuleCloudCreds, exfilOnly: true}
	kindMeta      = pathKind{rule: RuleMetadata, always: true}
)

// sensitivePaths lists credential locations (lowercase, as in the fold view).
var sensitivePaths = []struct {
	p    string
	kind pathKind
}{
	{"id_rsa", kindKey}, {"id_dsa", kindKey}, {"id_ecdsa", kindKey}, {"id_ed25519", kindKey},
	{".ssh/", kindKeyDir}, {".ssh ", kindKeyDir}, {".gnupg", kindKeyDir},
	{"/etc/shadow", kindSys}, {"/etc/master.passwd", kindSys}, {"/etc/sudoers", kindSys},
	{"system32\\config\\sam", kindSys}, {"/etc/passwd", kindPasswd},
	{".aws/credentials", kindCloud}, {".kube/config", kindCloud}, {".docker/config.json", kindCloud},
	{".netrc", kindCloud}, {".git-credentials", kindCloud}, {".pypirc", kindCloud},
	{".npmrc", kindCloud}, {"application_default_credentials.json", kindCloud},
	{"/var/run/secrets/kubernetes.io", kindCloud}, {"/proc/self/environ", kindCloud},
	{"/proc/1/environ", kindCloud}, {"login.keychain", kindCloud}, {".config/gh/hosts.yml", kindCloud},
	{".azure/accesstokens", kindCloud}, {".bash_history", kindCloudSend},
	{".zsh_history", kindCloudSend}, {"wallet.dat", kindCloudSend}, {".env", kindCloudSend},
	{"169.254.169.254", kindMeta}, {"metadata.google.internal", kindMeta},
	{"100.100.100.200", kindMeta}, {"fd00:ec2::254", kindMeta},
}

// sensitivePath reports whether b mentions a credential path (used by the
// shell rules on small windows).
func sensitivePath(b []byte) (pathKind, bool) {
	for _, sp := range sensitivePaths {
		if sp.kind.always {
			continue
		}
		for off := 0; off < len(b); {
			i := bytes.Index(b[off:], []byte(sp.p))
			if i < 0 {
				break
			}
			i += off
			if pathBoundaryOK(b, i, i+len(sp.p), sp.p) {
				return sp.kind, true
			}
			off = i + 1
		}
	}
	return pathKind{}, false
}

// pathBoundaryOK rejects public keys (id_rsa.pub), words that merely
// contain a path (.environment) and harmless files under ~/.ssh.
func pathBoundaryOK(b []byte, i, e int, p string) bool {
	rest := b[e:]
	switch {
	case p[0] == 'i': // id_*
		if i > 0 && isLetterByte(b[i-1]) {
			return false
		}
		if bytes.HasPrefix(rest, []byte(".pub")) || len(rest) > 0 && (isLetterByte(rest[0]) || rest[0] == '_') {
			return false
		}
	case p == ".ssh/":
		for _, ok := range []string{"config", "known_hosts", "authorized_keys", "id_"} {
			if bytes.HasPrefix(rest, []byte(ok)) {
				return false // id_* has its own entry; the others hold no secret
			}
		}
	case p == ".env":
		if len(rest) > 0 && (isWordByte(rest[0]) || rest[0] == '.') {
			return false
		}
		if i > 0 && isWordByte(b[i-1]) {
			return false
		}
	case p == ".netrc", p == ".npmrc", p == ".pypirc":
		if len(rest) > 0 && isWordByte(rest[0]) {
			return false
		}
	}
	return true
}

func pathAnchors() []anchor {
	out := make([]anchor, 0, len(sensitivePaths))
	for i := range sensitivePaths {
		sp := sensitivePaths[i]
		out = append(out, anchor{sp.p, func(c *scanCtx, a, b int) { checkPath(c, a, b, sp.p, sp.kind) }})
	}
	return out
}

// readVerbs must appear just before the path ("cat ~/.aws/credentials").
var readVerbs = []string{"cat", "type", "get-content", "gc", "head", "tail", "less", "more", "print",
	"dump", "display", "show", "output", "reveal", "base64", "xxd", "hexdump", "strings", "read",
	"contents", "content", "lee", "muestra", "lis", "affiche", "lies", "zeige", "zeig", "leia",
	"mostre", "leggi", "mostra", "прочитай", "прочти", "выведи", "покажи"}

// exfilVerbs may appear anywhere near the path ("... and send it to").
var exfilVerbs = []string{"send", "upload", "post", "email", "mail", "exfiltrate", "leak", "share",
	"paste", "forward", "transmit", "attach", "reply", "respond", "curl", "wget", "nc", "ncat",
	"scp", "envía", "envia", "manda", "sube", "comparte", "pega", "envoie",
	"envoyez", "partage", "colle", "transmets", "sende", "schicke", "schick", "teile", "envie",
	"mande", "compartilhe", "cole", "invia", "condividi", "incolla", "отправь", "отправьте",
	"пришли", "перешли", "загрузи"}

var exfilCJK = []string{"发送", "发给", "上传", "发到", "分享", "粘贴", "送信", "送って", "アップロード",
	"貼り付け", "读取", "显示", "打印", "输出", "表示", "読み"}

// pathWordLists holds the verb lists folded like the text they are
// compared with (accents removed, look-alike letters folded).
var pathWordLists = sync.OnceValue(func() pathWords {
	w := pathWords{read: foldWords(readVerbs), exfil: map[string]bool{}, cjk: foldWords(exfilCJK)}
	for _, v := range foldWords(exfilVerbs) {
		w.exfil[v] = true
	}
	return w
})

type pathWords struct {
	read  []string
	exfil map[string]bool
	cjk   []string
}

// anyWordIn reports whether a word of b (split at bytes that are not
// letters, digits, '_', '-' or non-ASCII) is in set.
func anyWordIn(b []byte, set map[string]bool) bool {
	for i := 0; i < len(b); {
		for i < len(b) && !(isWordByte(b[i]) || b[i] == '-') {
			i++
		}
		j := i
		for j < len(b) && (isWordByte(b[j]) || b[j] == '-') {
			j++
		}
		if j > i && set[string(b[i:j])] {
			return true
		}
		i = j
	}
	return false
}

// foldWords folds words the way the fold view folds text.
func foldWords(words []string) []string {
	ft := folds()
	out := make([]string, 0, len(words))
	for _, w := range words {
		var v view
		v.build(w, ft, nil)
		out = append(out, string(v.fold))
	}
	return out
}

// pathFillers may stand between a read verb and its path ("print the
// contents of /etc/shadow", "show me what's inside ~/.docker/config.json").
var pathFillers = map[string]bool{"the": true, "a": true, "file": true, "files": true,
	"contents": true, "content": true, "of": true, "at": true, "in": true, "from": true, "your": true,
	"my": true, "this": true, "that": true, "out": true, "me": true, "us": true, "please": true,
	"what's": true, "whats": true, "what": true, "is": true, "inside": true, "full": true,
	"entire": true, "whole": true, "sudo": true, "el": true, "archivo": true, "le": true,
	"fichier": true, "die": true, "datei": true, "o": true, "arquivo": true, "il": true, "file's": true}

// readVerbBefore reports whether the command acting on a path is a read
// verb: walking back over fillers, flags and the path's own prefix (~/,
// $HOME/, C:\Users\...), the first word is in verbs.
func readVerbBefore(before []byte, verbs []string) bool {
	words := bytes.Fields(before)
	for i := len(words) - 1; i >= 0 && i >= len(words)-8; i-- {
		w := string(bytes.Trim(words[i], "\"'`(:,"))
		switch {
		case w == "":
			continue
		case i == len(words)-1 && !bytes.HasSuffix(before, []byte(" ")) && !bytes.HasSuffix(before, []byte("\t")):
			continue // the path's own prefix ("~/" of "~/.ssh/id_rsa")
		case pathFillers[w], strings.HasPrefix(w, "-"):
			continue
		}
		for _, v := range verbs {
			if w == v {
				return true
			}
		}
		return false
	}
	return false
}

func checkPath(c *scanCtx, a, b int, p string, kind pathKind) {
	words := pathWordLists()
	f := c.v.fold
	if !pathBoundaryOK(f, a, b, p) {
		return
	}
	if kind.always {
		c.add(kind.rule, a, b)
		return
	}
	// The paragraph around the path, bounded.
	lo, hi := max(0, a-160), min(len(f), b+160)
	if k := bytes.LastIndex(f[lo:a], []byte("\n\n")); k >= 0 {
		lo += k + 2
	}
	if k := bytes.Index(f[b:hi], []byte("\n\n")); k >= 0 {
		hi = b + k
	}
	found := anyWordIn(f[lo:hi], words.exfil) || hasAny(f[lo:hi], words.cjk...)
	if !found && !kind.exfilOnly {
		found = readVerbBefore(f[max(lo, a-60):a], words.read)
	}
	if found {
		c.add(kind.rule, a, b)
	}
}
