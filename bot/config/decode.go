package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// typeError is a value of the wrong type; mapstructure wraps it in a
// DecodeError that names the key.
type typeError struct{ msg string }

func (e *typeError) Error() string { return e.msg }

func wrongType(want string, got any) error {
	return &typeError{msg: "must be " + want + ", got " + describe(got)}
}

// describe renders a raw configuration value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any, []string:
		return "a list"
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("number %v", x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// decode unmarshals the koanf map into a fresh Config with strict types:
// each value must be of its key's type (strings from the environment are
// parsed), and every mismatch becomes a Problem naming the key.
func decode(k *koanf.Koanf) (Config, []Problem) {
	var c Config
	err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:       mapstructure.DecodeHookFuncValue(strictHook),
			WeaklyTypedInput: false,
			TagName:          "koanf",
		},
	})
	return c, decodeProblems(err)
}

// decodeProblems flattens mapstructure's joined errors into problems.
func decodeProblems(err error) []Problem {
	if err == nil {
		return nil
	}
	var out []Problem
	var walk func(error)
	walk = func(e error) {
		if multi, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range multi.Unwrap() {
				walk(inner)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(e, &de) {
			key := de.Name()
			if key == "" {
				key = "(top level)"
			}
			msg := de.Unwrap().Error()
			var te *typeError
			if errors.As(de.Unwrap(), &te) {
				msg = te.msg
			}
			out = append(out, Problem{Key: key, Message: msg})
			return
		}
		out = append(out, Problem{Key: "(top level)", Message: e.Error()})
	}
	walk(err)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// strictHook converts a raw value to the type of its target field, or
// explains why it cannot.
func strictHook(from, to reflect.Value) (any, error) {
	var in any
	if from.IsValid() {
		in = from.Interface()
	}
	t := to.Type()
	switch {
	case t == durationType:
		return toDuration(in)
	case t == stringSliceType:
		return toStringList(in)
	case isEntryList(t):
		return toEntryList(in)
	}
	switch t.Kind() {
	case reflect.String:
		if s, ok := in.(string); ok {
			return s, nil
		}
		if in != nil && !isComposite(in) {
			return nil, &typeError{msg: "must be a string, got " + describe(in) + " (quote it)"}
		}
		return nil, wrongType("a string", in)
	case reflect.Bool:
		return toBool(in)
	case reflect.Int, reflect.Int64:
		return toInt(in, to)
	case reflect.Float64:
		return toFloat(in)
	case reflect.Struct:
		if m, ok := in.(map[string]any); ok {
			return m, nil
		}
		return nil, wrongType("a mapping of keys", in)
	}
	return in, nil
}

func isComposite(v any) bool {
	switch v.(type) {
	case map[string]any, []any, []string:
		return true
	}
	return false
}

func toBool(in any) (any, error) {
	switch x := in.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
	}
	return nil, wrongType("true or false", in)
}

func toInt(in any, to reflect.Value) (any, error) {
	var n int64
	switch x := in.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt64 {
			return nil, wrongType("an integer in range", in)
		}
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, wrongType("a whole number", in)
		}
		n = int64(x)
	case string:
		v, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, wrongType("an integer", in)
		}
		n = v
	default:
		return nil, wrongType("an integer", in)
	}
	if to.OverflowInt(n) {
		return nil, wrongType("an integer in range", in)
	}
	return n, nil
}

func toFloat(in any) (any, error) {
	switch x := in.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		if v, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return v, nil
		}
	}
	return nil, wrongType("a number", in)
}

func toDuration(in any) (any, error) {
	switch x := in.(type) {
	case time.Duration:
		return x, nil
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return d, nil
		}
	case int:
		if x == 0 {
			return time.Duration(0), nil
		}
	}
	return nil, wrongType(`a duration such as "90s" or "5m"`, in)
}

// toStringList accepts a list of strings or one comma-separated string
// (the form environment variables use).
func toStringList(in any) (any, error) {
	switch x := in.(type) {
	case []string:
		return x, nil
	case string:
		out := []string{}
		for part := range strings.SplitSeq(x, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, &typeError{msg: fmt.Sprintf("must be a list of strings, got %s at position %d", describe(e), i+1)}
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, wrongType("a list of strings", in)
}

// toEntryList accepts a list of mappings, or a string holding one in
// JSON or YAML flow syntax (the form environment variables use).
func toEntryList(in any) (any, error) {
	if s, ok := in.(string); ok {
		parsed, err := parseEntryList(s)
		if err != nil {
			return nil, &typeError{msg: `must be a list of mappings, such as [{"provider":"openai","model":"m"}], got ` + describe(s)}
		}
		in = parsed
	}
	list, ok := in.([]any)
	if !ok {
		return nil, wrongType("a list of mappings", in)
	}
	for i, e := range list {
		if _, ok := e.(map[string]any); !ok {
			return nil, &typeError{msg: fmt.Sprintf("must be a list of mappings, got %s at position %d", describe(e), i+1)}
		}
	}
	return list, nil
}

// parseEntryList parses a list of mappings written as JSON or YAML.
func parseEntryList(s string) ([]any, error) {
	var out []any
	if strings.TrimSpace(s) == "" {
		return []any{}, nil
	}
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}
