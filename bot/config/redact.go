package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RedactedValue is the text that replaces a secret value.
const RedactedValue = "***"

// dsnPassword finds password=... in a keyword/value PostgreSQL DSN.
var dsnPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redacted returns a deep copy of c in which every field tagged
// `secret:"true"` holds "***" (an empty one stays empty) and every field
// tagged `secret:"url"` has its password replaced by "***".
func (c *Config) Redacted() *Config {
	out := *c
	out.unknown = append([]Warning(nil), c.unknown...)
	redactStruct(reflect.ValueOf(&out).Elem())
	return &out
}

func redactStruct(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch {
		case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
			redactStruct(fv)
		case sf.Type.Kind() == reflect.Slice:
			if fv.IsNil() {
				continue
			}
			cp := reflect.MakeSlice(sf.Type, fv.Len(), fv.Len())
			reflect.Copy(cp, fv)
			fv.Set(cp)
			if sf.Type.Elem().Kind() == reflect.Struct {
				for j := range cp.Len() {
					redactStruct(cp.Index(j))
				}
			}
		case sf.Type.Kind() == reflect.String:
			switch sf.Tag.Get("secret") {
			case "true":
				if fv.String() != "" {
					fv.SetString(RedactedValue)
				}
			case "url":
				fv.SetString(redactURL(fv.String()))
			}
		}
	}
}

// redactURL replaces the password of a URL (user:password@, or a password
// query parameter) or of a keyword/value DSN. A value that is neither is
// replaced whole.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		if strings.Contains(s, "=") && !strings.Contains(s, "://") {
			return dsnPassword.ReplaceAllString(s, "${1}"+RedactedValue)
		}
		return RedactedValue
	}
	var user string
	if u.User != nil {
		name := u.User.Username()
		user = url.User(name).String()
		if _, has := u.User.Password(); has {
			user += ":" + RedactedValue
		}
		user += "@"
		u.User = nil
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, part := range parts {
			k, _, _ := strings.Cut(part, "=")
			if name, err := url.QueryUnescape(k); err == nil {
				if n := strings.ToLower(name); n == "password" || n == "sslpassword" {
					parts[i] = k + "=" + RedactedValue
				}
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	prefix := u.Scheme + "://"
	return prefix + user + strings.TrimPrefix(u.String(), prefix)
}

// Show writes the configuration with secrets redacted, as "yaml" (the
// keys in the order of config.example.yaml) or "json".
func (c *Config) Show(w io.Writer, format string) error {
	r := reflect.ValueOf(c.Redacted()).Elem()
	switch format {
	case "", "yaml":
		node := yamlNode(r)
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(node); err != nil {
			return fmt.Errorf("config: writing yaml: %w", err)
		}
		return enc.Close()
	case "json":
		var buf bytes.Buffer
		if err := writeJSON(&buf, r); err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
			return fmt.Errorf("config: writing json: %w", err)
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	}
	return fmt.Errorf("config: unknown output format %q (want yaml or json)", format)
}

// showValue turns a leaf into what is printed: durations in Go syntax.
func showValue(v reflect.Value) any {
	if v.Type() == durationType {
		return formatDuration(time.Duration(v.Int()))
	}
	if v.Type() == stringSliceType && v.Len() == 0 {
		return []string{}
	}
	return v.Interface()
}

// formatDuration prints "2m" rather than "2m0s" and "1h" rather than
// "1h0m0s"; the result parses back to the same duration.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func yamlNode(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup("koanf")
		if !sf.IsExported() || !ok {
			continue
		}
		fv := v.Field(i)
		var val *yaml.Node
		switch {
		case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
			val = yamlNode(fv)
		case isEntryList(sf.Type):
			val = &yaml.Node{Kind: yaml.SequenceNode}
			if fv.Len() == 0 {
				val.Style = yaml.FlowStyle
			}
			for j := range fv.Len() {
				val.Content = append(val.Content, yamlNode(fv.Index(j)))
			}
		default:
			val = &yaml.Node{}
			if err := val.Encode(showValue(fv)); err != nil {
				val = &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(fv.Interface())}
			}
			if fv.Kind() == reflect.Slice && fv.Len() == 0 {
				val.Style = yaml.FlowStyle
			}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, val)
	}
	return n
}

// writeJSON writes v as a JSON object with keys in struct order.
func writeJSON(buf *bytes.Buffer, v reflect.Value) error {
	buf.WriteByte('{')
	t := v.Type()
	first := true
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup("koanf")
		if !sf.IsExported() || !ok {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		fv := v.Field(i)
		switch {
		case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
			if err := writeJSON(buf, fv); err != nil {
				return err
			}
		case isEntryList(sf.Type):
			buf.WriteByte('[')
			for j := range fv.Len() {
				if j > 0 {
					buf.WriteByte(',')
				}
				if err := writeJSON(buf, fv.Index(j)); err != nil {
					return err
				}
			}
			buf.WriteByte(']')
		default:
			enc := json.NewEncoder(buf)
			enc.SetEscapeHTML(false) // URLs keep their "&"
			if err := enc.Encode(showValue(fv)); err != nil {
				return fmt.Errorf("config: writing json: %s: %w", name, err)
			}
		}
	}
	buf.WriteByte('}')
	return nil
}
