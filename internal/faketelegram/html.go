package faketelegram

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// allowedTags are the tags Telegram's HTML parse mode accepts
// (https://core.telegram.org/bots/api#html-style).
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true,
	"a": true, "code": true, "pre": true, "blockquote": true, "tg-emoji": true,
}

var entityRe = regexp.MustCompile(`^&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});`)

var tagRe = regexp.MustCompile(`^<(/?)([a-z-]+)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*>`)

// ParseHTML checks text the way Telegram's HTML parse mode does and returns
// the visible text: every <, > and & outside a tag must be an entity, only
// the supported tags may appear, and they must nest properly.
func ParseHTML(text string) (string, error) {
	var out strings.Builder
	var stack []string
	for i := 0; i < len(text); {
		switch text[i] {
		case '<':
			m := tagRe.FindStringSubmatch(text[i:])
			if m == nil {
				return "", fmt.Errorf("unsupported start tag at byte offset %d", i)
			}
			name := m[2]
			if !allowedTags[name] {
				return "", fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
			}
			if m[1] == "/" {
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", fmt.Errorf("unexpected end tag %q at byte offset %d", name, i)
				}
				stack = stack[:len(stack)-1]
			} else {
				if name == "a" && !strings.Contains(m[3], "href=") {
					return "", fmt.Errorf("a tag without href at byte offset %d", i)
				}
				stack = append(stack, name)
			}
			i += len(m[0])
		case '>':
			return "", fmt.Errorf("unexpected > at byte offset %d", i)
		case '&':
			m := entityRe.FindString(text[i:])
			if m == "" {
				return "", fmt.Errorf("unsupported entity at byte offset %d", i)
			}
			out.WriteString(decodeEntity(m))
			i += len(m)
		default:
			out.WriteByte(text[i])
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag %q", stack[len(stack)-1])
	}
	return out.String(), nil
}

func decodeEntity(e string) string {
	switch e {
	case "&lt;":
		return "<"
	case "&gt;":
		return ">"
	case "&amp;":
		return "&"
	case "&quot;":
		return `"`
	}
	num := strings.TrimSuffix(strings.TrimPrefix(e, "&#"), ";")
	base := 10
	if strings.HasPrefix(num, "x") {
		num, base = num[1:], 16
	}
	n, err := strconv.ParseInt(num, base, 32)
	if err != nil {
		return "?"
	}
	return string(rune(n))
}
