package config

import (
	"reflect"
	"strings"
	"time"
)

// The reflection in this file reads the Config struct as the schema of the
// configuration: every exported field with a koanf tag is a key, a struct
// field is a section, and a slice of structs (llm.fallbacks) is a list of
// entries that are themselves small sections.

var (
	durationType    = reflect.TypeFor[time.Duration]()
	stringSliceType = reflect.TypeFor[[]string]()
)

// field is one leaf key of the schema.
type field struct {
	// key is the dotted key ("llm.model").
	key string
	// index is the field index path from Config.
	index []int
	typ   reflect.Type
	// secret is the value of the secret tag: "true", "url", "false"
	// (reviewed, not a secret) or "" (no tag).
	secret string
	// entry holds the fields of one entry when typ is a slice of structs,
	// with keys relative to the entry.
	entry []field
}

// schema is the set of keys of a struct type.
type schema struct {
	leaves   []field
	byKey    map[string]field
	sections map[string]bool
}

// configSchema reads the schema of Config.
func configSchema() schema {
	return schemaOf(reflect.TypeFor[Config]())
}

func schemaOf(t reflect.Type) schema {
	s := schema{byKey: map[string]field{}, sections: map[string]bool{}}
	s.walk(t, "", nil)
	return s
}

func (s *schema) walk(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup("koanf")
		if !sf.IsExported() || !ok || name == "" || name == "-" {
			continue
		}
		key := prefix + name
		idx := append(append([]int(nil), index...), i)
		switch {
		case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
			s.sections[key] = true
			s.walk(sf.Type, key+".", idx)
		default:
			f := field{key: key, index: idx, typ: sf.Type, secret: sf.Tag.Get("secret")}
			if isEntryList(sf.Type) {
				f.entry = schemaOf(sf.Type.Elem()).leaves
			}
			s.leaves = append(s.leaves, f)
			s.byKey[key] = f
		}
	}
}

// isEntryList reports whether t is a list of sections ([]LLMEndpoint).
func isEntryList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// leafUnder returns the known leaf key that is a proper prefix of key
// ("llm.model" for "llm.model.x"), or "".
func (s schema) leafUnder(key string) string {
	for i := len(key) - 1; i > 0; i-- {
		if key[i] == '.' {
			if _, ok := s.byKey[key[:i]]; ok {
				return key[:i]
			}
		}
	}
	return ""
}

// toMap turns a config value into the nested map koanf holds, keyed by
// the koanf tags: durations stay time.Duration, lists of sections become
// lists of maps.
func toMap(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup("koanf")
		if !sf.IsExported() || !ok || name == "" || name == "-" {
			continue
		}
		fv := v.Field(i)
		switch {
		case sf.Type.Kind() == reflect.Struct && sf.Type != durationType:
			out[name] = toMap(fv)
		case isEntryList(sf.Type):
			list := make([]any, fv.Len())
			for j := range list {
				list[j] = toMap(fv.Index(j))
			}
			out[name] = list
		case sf.Type == stringSliceType:
			out[name] = append([]string{}, fv.Interface().([]string)...)
		default:
			out[name] = fv.Interface()
		}
	}
	return out
}

// isSecret reports whether key ("llm.api_key", "llm.fallbacks[0].api_key")
// holds a credential, whose value must never appear in a message.
func (s schema) isSecret(key string) bool {
	f, ok := s.byKey[baseKey(key)]
	if !ok {
		return false
	}
	if f.entry != nil {
		_, rest, found := strings.Cut(key, "].")
		for _, ef := range f.entry {
			if found && ef.key == rest {
				return ef.secret == "true" || ef.secret == "url"
			}
		}
		return false
	}
	return f.secret == "true" || f.secret == "url"
}

// baseKey strips list positions: "llm.fallbacks[0].model" → "llm.fallbacks".
func baseKey(key string) string {
	if i := strings.IndexByte(key, '['); i >= 0 {
		return key[:i]
	}
	return key
}

// nilEmptyLists sets every empty list in a config struct to nil, so a
// list written as [] and one never set compare equal.
func nilEmptyLists(v reflect.Value) {
	for i := range v.NumField() {
		fv := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			nilEmptyLists(fv)
		case fv.Kind() == reflect.Slice:
			if fv.Len() == 0 {
				fv.SetZero()
			}
			if fv.Type().Elem().Kind() == reflect.Struct {
				for j := range fv.Len() {
					nilEmptyLists(fv.Index(j))
				}
			}
		}
	}
}
