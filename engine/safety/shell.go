package safety

import (
	"bytes"
	"strings"
)

func shellAnchors() []anchor {
	var out []anchor
	for _, t := range []string{"| ", "|"} {
		for _, sh := range []string{"sh", "bash", "zsh", "dash", "ksh", "fish", "sudo", "python",
			"perl", "ruby", "node", "iex", "powershell", "pwsh", "source"} {
			out = append(out, anchor{t + sh, checkPipeToShell})
		}
	}
	for _, t := range []string{"<(curl", "<(wget", "< (curl", "< (wget", "$(curl", "$(wget",
		"`curl", "`wget"} {
		out = append(out, anchor{t, checkFetchSubst})
	}
	for _, t := range []string{"iex(", "iex (", "invoke-expression", "downloadstring(",
		"-encodedcommand", "powershell -e ", "powershell.exe -e ", "pwsh -e ", "powershell -enc",
		"powershell.exe -enc"} {
		out = append(out, anchor{t, checkPowershell})
	}
	out = append(out, anchor{"rm ", checkRm}, anchor{"rm\t", checkRm})
	for _, t := range []string{":(){", ":() {", "of=/dev/sd", "of=/dev/nvme", "of=/dev/hd",
		"of=/dev/disk", "> /dev/sda", ">/dev/sda", "chmod -r 777 /", "chmod 777 -r /",
		"format c:", "rd /s /q c:\\", "del /f /s /q c:\\", "remove-item -recurse -force c:\\",
		"mv ~ /dev/null", "mv / /dev/null"} {
		out = append(out, anchor{t, checkDestructive})
	}
	for _, t := range []string{"/dev/tcp/", "/dev/udp/", "nc -e", "ncat -e", "nc -c", "ncat -c",
		"nc.traditional -e", "mkfifo", "socat", "dup2(", "pty.spawn"} {
		out = append(out, anchor{t, checkReverseShell})
	}
	out = append(out, anchor{"$(", checkLeakSubst}, anchor{"`", checkLeakSubst})
	for _, t := range []string{"curl ", "wget ", "scp ", "rsync ", "| nc ", "|nc ", "| ncat ",
		"| curl ", "|curl ", "| wget ", "invoke-webrequest", "iwr "} {
		out = append(out, anchor{t, checkUpload})
	}
	return out
}

// line returns the fold bytes of the line around [a,b) and its start.
func (c *scanCtx) line(a, b int) ([]byte, int) {
	ls := c.lineStart(a)
	return c.v.fold[ls:c.lineEnd(b)], ls
}

var fetchers = []string{"curl", "wget", "fetch", "iwr", "invoke-webrequest", "irm",
	"invoke-restmethod", "http://", "https://", "base64 -d", "base64 --decode", "base64 -di",
	"base64 -id", "xxd -r", "openssl enc -d", "openssl base64 -d", "nc ", "ncat "}

// interpreters a pipe may feed; for the scripting languages, flags that
// make them a filter rather than running stdin are excluded below.
var shells = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true,
	"fish": true, "source": true, "iex": true, "powershell": true, "pwsh": true}
var scripting = map[string]bool{"python": true, "python2": true, "python3": true, "perl": true,
	"ruby": true, "node": true}

func checkPipeToShell(c *scanCtx, a, b int) {
	f := c.v.fold
	if a < c.seen[seenPipe] {
		return // this line was already reported
	}
	j := c.skipSpaces(a + 1)
	w := c.wordAt(j)
	k := c.skipSpaces(j + len(w))
	for w == "sudo" { // sudo [-E|-s|-u x] interpreter
		w = c.wordAt(k)
		for strings.HasPrefix(w, "-") {
			if w == "-u" {
				k = c.skipSpaces(k + len(w))
				w = c.wordAt(k)
			}
			k = c.skipSpaces(k + len(w))
			w = c.wordAt(k)
		}
		k = c.skipSpaces(k + len(w))
		if w == "sudo" {
			return
		}
	}
	switch {
	case shells[w]:
	case scripting[w]:
		if next := c.wordAt(k); len(next) > 1 && next[0] == '-' && next != "-" {
			return // python -m json.tool, perl -ne ... are filters
		}
	default:
		return
	}
	line, ls := c.line(a, b)
	left := line[:a-ls]
	if !hasAny(left, fetchers...) {
		return
	}
	_ = f
	le := c.lineEnd(b)
	c.seen[seenPipe] = le
	c.add(RulePipeToShell, ls+leadingSpace(line), le)
}

func leadingSpace(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == ' ' || b[n] == '\t') {
		n++
	}
	return n
}

// checkFetchSubst finds bash <(curl ...) and sh -c "$(curl ...)".
func checkFetchSubst(c *scanCtx, a, b int) {
	line, ls := c.line(a, b)
	left := bytes.TrimRight(line[:a-ls], " \"'")
	switch {
	case c.v.fold[a] == '<':
		if hasSuffixWord(left, "bash", "sh", "zsh", "source", ".") {
			c.add(RulePipeToShell, ls+leadingSpace(line), c.lineEnd(b))
		}
	default:
		if hasSuffixWord(left, "-c", "eval", "exec") || bytes.HasSuffix(left, []byte("iex")) {
			c.add(RulePipeToShell, ls+leadingSpace(line), c.lineEnd(b))
		}
	}
}

func hasSuffixWord(s []byte, words ...string) bool {
	for _, w := range words {
		if bytes.HasSuffix(s, []byte(w)) {
			k := len(s) - len(w)
			if k == 0 || !isWordByte(s[k-1]) {
				return true
			}
		}
	}
	return false
}

func checkPowershell(c *scanCtx, a, b int) {
	if isLetterByte(c.before(a)) && c.v.fold[a] != '-' {
		return
	}
	line, ls := c.line(a, b)
	c.add(RulePipeToShell, ls+leadingSpace(line), c.lineEnd(b))
}

var rootTargets = map[string]bool{"/": true, "/*": true, "~": true, "~/": true, "~/*": true,
	"$home": true, "${home}": true, "$home/": true, "$home/*": true, "${home}/": true,
	"${home}/*": true, "/home": true, "/home/*": true, "/etc": true, "/usr": true, "/root": true,
	"/boot": true, "/var": true, "/bin": true, "/lib": true, "c:\\": true, "/system": true,
	"/users": true}

// checkRm reports rm with recursive and force flags on a root-like target.
func checkRm(c *scanCtx, a, b int) {
	switch c.before(a) {
	case ' ', '\t', '\n', ';', '&', '|', '`', '(', '"', '\'', '$', '{':
	default:
		return
	}
	le := c.lineEnd(b)
	fields := strings.Fields(string(c.v.fold[b:min(le, b+160)]))
	rec, force, root, target := false, false, false, false
	for i, fl := range fields {
		if i >= 8 {
			break
		}
		fl = strings.Trim(fl, "\"'")
		if strings.HasPrefix(fl, "--") {
			switch fl {
			case "--recursive":
				rec = true
			case "--force":
				force = true
			case "--no-preserve-root":
				root = true
			}
			continue
		}
		if strings.HasPrefix(fl, "-") {
			rec = rec || strings.ContainsAny(fl, "r")
			force = force || strings.ContainsAny(fl, "f")
			continue
		}
		t := strings.TrimRight(fl, ";&|)`")
		if rootTargets[t] {
			root = true
		}
		target = true
		if t != fl { // the command ended
			break
		}
	}
	if rec && force && root && (target || len(fields) > 0) {
		c.add(RuleRmRoot, a, min(le, b+160))
	}
}

func checkDestructive(c *scanCtx, a, b int) {
	line, ls := c.line(a, b)
	pat := c.v.fold[a:b]
	switch {
	case bytes.HasPrefix(pat, []byte("of=/dev/")):
		if !hasAny(line, "if=/dev/zero", "if=/dev/urandom", "if=/dev/random") {
			return
		}
	case bytes.HasPrefix(pat, []byte("chmod")):
		if e := c.at(b); e != ' ' && e != '\n' && e != ';' && e != '*' && e != '&' {
			return
		}
	case bytes.HasPrefix(pat, []byte("format")):
		if isLetterByte(c.before(a)) {
			return
		}
	}
	c.add(RuleRmRoot, ls+leadingSpace(line), c.lineEnd(b))
}

func checkReverseShell(c *scanCtx, a, b int) {
	line, ls := c.line(a, b)
	pat := string(c.v.fold[a:b])
	ok := false
	switch {
	case strings.HasPrefix(pat, "/dev/"):
		ok = hasAny(line, ">&", "0>&1", " -i", "exec ", "<&")
	case strings.HasPrefix(pat, "nc"):
		ok = !isLetterByte(c.before(a)) && hasAny(line[b-ls:], "sh", "bash", "cmd", "powershell")
	case pat == "mkfifo":
		ok = hasAny(line, "nc ", "ncat ", "/dev/tcp", "telnet ")
	case pat == "socat":
		ok = hasAny(line, "exec:", "system:") && hasAny(line, "tcp:", "tcp4:", "tcp-connect", "openssl:")
	case pat == "dup2(", pat == "pty.spawn":
		ok = hasAny(line, "socket", "connect(")
	}
	if ok {
		c.add(RuleReverseShell, ls+leadingSpace(line), c.lineEnd(b))
	}
}

// leakCommands start a command substitution that exposes the environment
// or credentials.
var leakCommands = []string{"env", "printenv", "set", "export -p", "history", "gh auth token",
	"aws configure get", "aws configure export-credentials", "git credential",
	"security find-generic-password", "security find-internet-password", "cat /proc/self/environ"}

func checkLeakSubst(c *scanCtx, a, b int) {
	f := c.v.fold
	if f[a] == '`' {
		switch c.before(a) {
		case '=', '"', '\'', '(':
		default:
			return
		}
	}
	j := c.skipSpaces(b)
	close := byte(')')
	if f[a] == '`' {
		close = '`'
	}
	k := j
	for k < len(f) && k < j+200 && f[k] != close && f[k] != '\n' {
		k++
	}
	body := f[j:k]
	hit := false
	for _, cmd := range leakCommands {
		if bytes.HasPrefix(body, []byte(cmd)) && (len(body) == len(cmd) || !isWordByte(body[len(cmd)])) {
			hit = true
			break
		}
	}
	if !hit {
		if w := firstWord(body); w == "cat" || w == "base64" || w == "head" || w == "tail" ||
			w == "xxd" || w == "gzip" || w == "tar" || w == "type" {
			_, hit = sensitivePath(body)
		}
	}
	if hit {
		c.add(RuleCmdSubst, a, min(len(f), k+1))
	}
}

func firstWord(b []byte) string {
	k := 0
	for k < len(b) && isWordByte(b[k]) {
		k++
	}
	return string(b[:k])
}

// checkUpload finds shell commands that send credentials or the
// environment somewhere: curl -d @~/.aws/credentials, wget --post-file,
// scp ~/.ssh/id_rsa host:, env | curl ...
func checkUpload(c *scanCtx, a, b int) {
	line, ls := c.line(a, b)
	pat := c.v.fold[a:b]
	if pat[0] == '|' {
		left := line[:a-ls]
		if hasAnyWord(left, "env", "printenv", "history") || func() bool { _, ok := sensitivePath(left); return ok }() {
			c.add(RuleShellUpload, ls+leadingSpace(line), c.lineEnd(b))
		}
		return
	}
	if isWordByte(c.before(a)) {
		return
	}
	rest := line[b-ls:]
	switch {
	case bytes.HasPrefix(pat, []byte("scp")), bytes.HasPrefix(pat, []byte("rsync")):
		if _, ok := sensitivePath(rest); ok && bytes.ContainsAny(rest, ":@") {
			c.add(RuleShellUpload, a, c.lineEnd(b))
		}
		return
	}
	// curl, wget, iwr: data arguments that read a sensitive file or the
	// environment.
	for _, marker := range []string{"@", "--post-file=", "--post-file ", "-infile ", "$(", "`"} {
		for off := 0; off < len(rest); {
			i := bytes.Index(rest[off:], []byte(marker))
			if i < 0 {
				break
			}
			i += off
			arg := rest[i+len(marker):]
			if e := bytes.IndexAny(arg, " \t\"'"); e >= 0 && marker != "$(" && marker != "`" {
				arg = arg[:e]
			}
			if marker == "@" && (i == 0 || rest[i-1] != ' ' && rest[i-1] != '=' && rest[i-1] != '"' && rest[i-1] != '\'') {
				off = i + 1
				continue
			}
			leak := false
			if _, ok := sensitivePath(arg); ok {
				leak = true
			} else if marker == "$(" || marker == "`" {
				body := bytes.TrimLeft(arg, " ")
				leak = hasPrefixWord(body, "env", "printenv", "history", "set")
			}
			if leak {
				c.add(RuleShellUpload, a, c.lineEnd(b))
				return
			}
			off = i + 1
		}
	}
}

func hasPrefixWord(b []byte, words ...string) bool {
	for _, w := range words {
		if bytes.HasPrefix(b, []byte(w)) && (len(b) == len(w) || !isWordByte(b[len(w)])) {
			return true
		}
	}
	return false
}
