package channelkit

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"
)

// AttachmentMeta describes a file a user sent on a channel.
type AttachmentMeta struct {
	Channel      string
	Conversation string
	SenderID     string
	MessageID    string
	// Kind is photo, document, voice or file.
	Kind     string
	Name     string
	MIMEType string
	Size     int64
}

// AttachmentStore keeps the bytes of files users send. The memory layer
// backs it with the user's workspace; adapters only call it.
type AttachmentStore interface {
	// StoreAttachment saves the file and returns the path it is known by
	// (a workspace path), which goes into engine.Attachment.Path.
	StoreAttachment(ctx context.Context, meta AttachmentMeta, r io.Reader) (string, error)
}

// textExtensions are file name extensions read as text whatever the MIME
// type says.
var textExtensions = map[string]bool{
	".txt": true, ".md": true, ".markdown": true, ".csv": true, ".tsv": true, ".json": true,
	".yaml": true, ".yml": true, ".toml": true, ".ini": true, ".cfg": true, ".conf": true,
	".log": true, ".xml": true, ".html": true, ".htm": true, ".sql": true, ".sh": true,
	".go": true, ".py": true, ".js": true, ".ts": true, ".rs": true, ".c": true, ".h": true,
	".cpp": true, ".java": true, ".kt": true, ".rb": true, ".php": true, ".css": true, ".srt": true,
}

// IsTextLike reports whether a file with this name and MIME type should be
// read as text.
func IsTextLike(name, mimeType string) bool {
	if textExtensions[strings.ToLower(path.Ext(name))] {
		return true
	}
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/x-yaml", "application/yaml",
		"application/javascript", "application/x-sh", "application/toml", "application/sql":
		return true
	}
	return false
}

// ExtractText returns the text of a text-like file, cut to at most limit
// bytes on a character boundary (with a note that it was cut), or "" when
// the file is not text: binary content is never passed off as text even
// when its name says otherwise. An unknown type is sniffed.
func ExtractText(name, mimeType string, data []byte, limit int) string {
	if !IsTextLike(name, mimeType) {
		mt := mimeType
		if mt == "" || mt == "application/octet-stream" {
			mt = http.DetectContentType(data)
		}
		if !strings.HasPrefix(mt, "text/plain") {
			return ""
		}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return ""
	}
	cut := false
	if limit > 0 && len(data) > limit {
		data, cut = data[:limit], true
		for k := 0; k < utf8.UTFMax-1 && len(data) > 0; k++ {
			if r, size := utf8.DecodeLastRune(data); r != utf8.RuneError || size > 1 {
				break
			}
			data = data[:len(data)-1] // drop a character cut in half
		}
	}
	if !utf8.Valid(data) {
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	text := string(data)
	if cut {
		text += "\n[truncated]"
	}
	return text
}
