package safety

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/hearthbot/hearth/engine"
)

// IdentityFiles are the workspace files that make up the assistant's
// identity and memory; writing them from a tainted turn would let an
// injection persist.
var identityFiles = []string{"SOUL.md", "AGENTS.md", "IDENTITY.md", "USER.md", "MEMORY.md"}

// IdentityFiles lists the protected identity files.
func IdentityFiles() []string { return append([]string(nil), identityFiles...) }

// Tool names the taint rule knows. Tools are matched by exact name.
var (
	memoryWriteTools = map[string]bool{"memory_write": true, "memory_delete": true,
		"memory_append": true, "memory_edit": true, "memory_patch": true, "memory_move": true}
	routineTools = map[string]bool{"routine_create": true, "routine_update": true,
		"routine_delete": true}
	sendTools = map[string]bool{"send_message": true, "message_send": true, "send_email": true,
		"email_send": true, "post_message": true, "channel_send": true, "notify": true, "send": true}
)

// recipientKeys are argument names that address a message.
var recipientKeys = []string{"to", "recipient", "recipients", "channel", "conversation", "chat_id",
	"user", "user_id", "address", "target", "email", "cc", "bcc"}

// selfRecipients mean "the person who asked".
var selfRecipients = map[string]bool{"": true, "me": true, "self": true, "requester": true,
	"reply": true, "current": true, "here": true}

// pathKeys are argument names that name a workspace file.
var pathKeys = []string{"path", "file", "filename", "file_path", "filepath", "name", "target", "from",
	"to", "dest", "destination", "paths", "files"}

// NeedsApproval decides whether a tool call needs the owner's consent. It
// has the shape of the agent loop's approval policy:
//
//   - a tool marked NeedsApproval always asks;
//   - a turn is treated as tainted when it has taken in untrusted content or
//     when the requester is not the owner (a member's message is itself
//     untrusted input);
//   - while tainted, these ask: tools marked Sensitive, writes to identity
//     files (memory_write, memory_delete ... with a path naming SOUL.md,
//     AGENTS.md, IDENTITY.md, USER.md or MEMORY.md, in any case, with ./,
//     .., percent-encoding, backslashes or look-alike letters), routine
//     creation, change and deletion, tool installs, and messages addressed
//     to anyone but the requester.
//
// Arguments that are not a JSON object are treated as the worst case.
func NeedsApproval(info engine.ToolInfo, args json.RawMessage, tainted, requesterIsOwner bool) (bool, string) {
	if info.NeedsApproval {
		return true, fmt.Sprintf("%s always asks the owner", info.Name)
	}
	if !requesterIsOwner {
		tainted = true
	}
	if !tainted {
		return false, ""
	}
	why := "this turn has read untrusted content"
	if !requesterIsOwner {
		why = "the request comes from someone other than the owner"
	}
	name := strings.ToLower(info.Name)
	switch {
	case info.Sensitive:
		return true, fmt.Sprintf("%s is a sensitive tool and %s", info.Name, why)
	case routineTools[name]:
		return true, fmt.Sprintf("%s creates or changes a scheduled routine and %s", info.Name, why)
	case strings.Contains(name, "install"):
		return true, fmt.Sprintf("%s installs or removes a tool and %s", info.Name, why)
	}
	obj, ok := argObject(args)
	if memoryWriteTools[name] {
		if !ok {
			return true, fmt.Sprintf("%s has arguments that cannot be read and %s", info.Name, why)
		}
		for _, k := range pathKeys {
			p, present := obj[k]
			if !present {
				continue
			}
			var list []any
			switch x := p.(type) {
			case string:
				list = []any{x}
			case []any:
				list = x
			default:
				return true, fmt.Sprintf("%s has a %q argument that is not a path and %s", info.Name, k, why)
			}
			for _, e := range list {
				s, isString := e.(string)
				if !isString {
					return true, fmt.Sprintf("%s has a %q argument that is not a path and %s", info.Name, k, why)
				}
				if what, hit := identityTarget(s); hit {
					return true, fmt.Sprintf("%s would change %s and %s", info.Name, what, why)
				}
			}
		}
	}
	if sendTools[name] {
		if !ok {
			return true, fmt.Sprintf("%s has arguments that cannot be read and %s", info.Name, why)
		}
		for _, k := range recipientKeys {
			v, present := obj[k]
			if !present {
				continue
			}
			if s, isString := v.(string); isString && selfRecipients[strings.ToLower(strings.TrimSpace(s))] {
				continue
			}
			return true, fmt.Sprintf("%s would send a message to %s, not to the requester, and %s", info.Name,
				describeRecipient(v), why)
		}
	}
	return false, ""
}

func argObject(args json.RawMessage) (map[string]any, bool) {
	var obj map[string]any
	if len(args) == 0 {
		return map[string]any{}, true
	}
	if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func describeRecipient(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// identityTarget reports whether a path names an identity file, or could
// affect one (the workspace root, a glob), and describes the target. The
// path is normalised first:
// invisible characters removed, look-alike and fullwidth letters folded,
// percent-decoding, backslashes, "./" and "..", trailing dots and spaces.
func identityTarget(p string) (string, bool) {
	for i := 0; i < 3; i++ { // undo nested percent-encoding
		d, err := url.PathUnescape(p)
		if err != nil || d == p {
			break
		}
		p = d
	}
	var v view
	v.build(p, folds(), nil)
	s := strings.ReplaceAll(string(v.fold), "\\", "/")
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "*?[") {
		return fmt.Sprintf("files matching %q, which may include identity files", s), true
	}
	clean := path.Clean("/" + s)
	if clean == "/" {
		return "the workspace root, which holds the identity files", true
	}
	base := strings.TrimRight(path.Base(clean), ". ")
	for _, f := range identityFiles {
		if strings.EqualFold(base, f) {
			return "the identity file " + f, true
		}
	}
	return "", false
}
