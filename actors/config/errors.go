package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrInvalid is matched by every problem found in a configuration: a
	// syntax error, an unknown field, or a value outside its allowed range.
	ErrInvalid = errors.New("config: invalid configuration")
	// ErrRead is wrapped by Load's error when the file cannot be read.
	ErrRead = errors.New("config: cannot read file")
)

// Error is one problem in a configuration. Parse joins several with
// errors.Join, in the order they appear in the file. An Error is an
// immutable value, safe to share between goroutines.
type Error struct {
	// File, Line and Column locate the problem (1-based); File is empty and
	// Line 0 for a Config built in code and checked by Validate.
	File         string
	Line, Column int
	// Path names the enclosing block, as in `pool "cpu"`; empty at the top
	// level.
	Path string
	// Field names the field within Path, as in "workers" or "backoff.max".
	Field string
	// Value is the value as written in the file (strings with their quotes).
	Value string
	// Allowed describes the values allowed.
	Allowed string
	// Message, when set, describes a problem that is not a value out of
	// range (a syntax error, an unknown field, a missing block) and replaces
	// "<Field> is <Value>" in Error's text.
	Message string
}

// Error returns "file:line:col: path: field is value; allowed: ...", with
// the parts that are empty left out.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" || e.Line > 0 {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(e.Field + " is " + e.Value)
	}
	if e.Allowed != "" {
		b.WriteString("; allowed: " + e.Allowed)
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }
