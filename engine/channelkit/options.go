package channelkit

import (
	"fmt"
	"time"
)

// FillDefault checks a numeric option (a size, a count, a duration): a
// negative value is an error naming it, zero takes def, anything else
// stays.
func FillDefault[T ~int | ~int64](name string, v *T, def T) error {
	switch {
	case *v < 0:
		return fmt.Errorf("%s must not be negative, got %v", name, *v)
	case *v == 0:
		*v = def
	}
	return nil
}

// DurationOption names a duration option, points at it and gives its
// default, for FillDurations.
type DurationOption struct {
	Name    string
	Value   *time.Duration
	Default time.Duration
}

// FillDurations applies FillDefault to each option in order and stops at
// the first error.
func FillDurations(opts ...DurationOption) error {
	for _, o := range opts {
		if err := FillDefault(o.Name, o.Value, o.Default); err != nil {
			return err
		}
	}
	return nil
}
