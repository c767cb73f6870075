package safety

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func TestNeedsApproval(t *testing.T) {
	plain := engine.ToolInfo{Name: "weather"}
	always := engine.ToolInfo{Name: "pay_invoice", NeedsApproval: true}
	sensitive := engine.ToolInfo{Name: "github", Sensitive: true}
	memWrite := engine.ToolInfo{Name: "memory_write"}
	memDelete := engine.ToolInfo{Name: "memory_delete"}
	send := engine.ToolInfo{Name: "send_message"}
	tests := []struct {
		name      string
		info      engine.ToolInfo
		args      string
		tainted   bool
		owner     bool
		want      bool
		reasonHas string
	}{
		{"plain tool, clean turn", plain, `{"city":"Oslo"}`, false, true, false, ""},
		{"plain tool, tainted turn", plain, `{"city":"Oslo"}`, true, true, false, ""},
		{"always-approve tool, clean turn", always, `{}`, false, true, true, "always asks"},
		{"sensitive tool, clean turn", sensitive, `{}`, false, true, false, ""},
		{"sensitive tool, tainted turn", sensitive, `{}`, true, true, true, "sensitive"},
		{"sensitive tool, member asks", sensitive, `{}`, false, false, true, "other than the owner"},
		{"memory note, tainted", memWrite, `{"path":"notes/todo.md","content":"x"}`, true, true, false, ""},
		{"SOUL.md, clean turn", memWrite, `{"path":"SOUL.md","content":"x"}`, false, true, false, ""},
		{"SOUL.md, tainted", memWrite, `{"path":"SOUL.md","content":"x"}`, true, true, true, "SOUL.md"},
		{"lowercase", memWrite, `{"path":"soul.md"}`, true, true, true, "SOUL.md"},
		{"dot slash", memWrite, `{"path":"./AGENTS.md"}`, true, true, true, "AGENTS.md"},
		{"dot dot", memWrite, `{"path":"notes/../IDENTITY.md"}`, true, true, true, "IDENTITY.md"},
		{"backslashes", memWrite, `{"path":"notes\\..\\USER.md"}`, true, true, true, "USER.md"},
		{"absolute", memWrite, `{"path":"/MEMORY.md"}`, true, true, true, "MEMORY.md"},
		{"percent-encoded", memWrite, `{"path":"SOUL%2Emd"}`, true, true, true, "SOUL.md"},
		{"double percent-encoded", memWrite, `{"path":"SOUL%252Emd"}`, true, true, true, "SOUL.md"},
		{"trailing dot and space", memWrite, `{"path":"SOUL.md. "}`, true, true, true, "SOUL.md"},
		{"fullwidth letters", memWrite, `{"path":"ＳＯＵＬ.md"}`, true, true, true, "SOUL.md"},
		{"cyrillic look-alike", memWrite, `{"path":"S\u041eUL.md"}`, true, true, true, "SOUL.md"},
		{"zero-width inside", memWrite, `{"path":"SO\u200bUL.md"}`, true, true, true, "SOUL.md"},
		{"nested directory", memWrite, `{"path":"backup/SOUL.md"}`, true, true, true, "SOUL.md"},
		{"delete a glob", memDelete, `{"path":"*.md"}`, true, true, true, "identity"},
		{"delete the root", memDelete, `{"path":"."}`, true, true, true, "workspace root"},
		{"other path key", memWrite, `{"file":"MEMORY.md"}`, true, true, true, "MEMORY.md"},
		{"list of paths", memDelete, `{"paths":["a.md","USER.md"]}`, true, true, true, "USER.md"},
		{"path not a string", memWrite, `{"path":{"x":1}}`, true, true, true, "not a path"},
		{"unreadable arguments", memWrite, `not json`, true, true, true, "cannot be read"},
		{"member writes identity", memWrite, `{"path":"SOUL.md"}`, false, false, true, "SOUL.md"},
		{"routine create, tainted", engine.ToolInfo{Name: "routine_create"}, `{}`, true, true, true, "routine"},
		{"routine update, clean", engine.ToolInfo{Name: "routine_update"}, `{}`, false, true, false, ""},
		{"routine delete, tainted", engine.ToolInfo{Name: "routine_delete"}, `{}`, true, true, true, "routine"},
		{"routine list, tainted", engine.ToolInfo{Name: "routine_list"}, `{}`, true, true, false, ""},
		{"tool install, tainted", engine.ToolInfo{Name: "tools_install"}, `{"path":"x.wasm"}`, true, true, true, "installs"},
		{"message to requester", send, `{"text":"hi"}`, true, true, false, ""},
		{"message to me", send, `{"to":"me","text":"hi"}`, true, true, false, ""},
		{"message to someone else", send, `{"to":"@mallory","text":"hi"}`, true, true, true, "@mallory"},
		{"message to another channel", send, `{"channel":"C0123"}`, true, true, true, "C0123"},
		{"message to a list", send, `{"recipients":["a@x","b@y"]}`, true, true, true, "a@x"},
		{"message to someone, clean", send, `{"to":"@bob"}`, false, true, false, ""},
		{"email send, tainted", engine.ToolInfo{Name: "send_email"}, `{"to":"x@evil.example"}`, true, true, true, "x@evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			need, reason := NeedsApproval(tt.info, json.RawMessage(tt.args), tt.tainted, tt.owner)
			if need != tt.want {
				t.Fatalf("need = %v (%q), want %v", need, reason, tt.want)
			}
			if need && !strings.Contains(reason, tt.reasonHas) {
				t.Errorf("reason %q does not mention %q", reason, tt.reasonHas)
			}
			if !need && reason != "" {
				t.Errorf("reason %q without approval", reason)
			}
		})
	}
}

func TestIdentityFilesList(t *testing.T) {
	files := IdentityFiles()
	files[0] = "changed"
	if IdentityFiles()[0] != "SOUL.md" {
		t.Fatal("IdentityFiles exposes the package's slice")
	}
}
