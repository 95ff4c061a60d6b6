// Package errkind classifies domain errors by what the caller can do about
// them, so each bounded context can say "not found" or "conflict" in its own
// words while the HTTP edge maps kinds to status codes in one table.
package errkind

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// Kind is the class of a domain error.
type Kind int

const (
	Internal        Kind = iota // anything unexpected: logged, never shown in detail
	Invalid                     // the input breaks a rule; Fields says which
	Malformed                   // the request cannot be parsed (bad syntax, forged token)
	NotFound                    // the thing does not exist (or the caller may not know it does)
	Conflict                    // the request clashes with current state
	Unauthenticated             // no valid credentials
	Forbidden                   // credentials valid, action not allowed
	TooLarge                    // a size limit was exceeded
	Unsupported                 // a media type we do not take
	Unavailable                 // a dependency is down; try again later
)

// Error is a domain error with a kind and a message fit for the client.
type Error struct {
	Kind    Kind
	Message string
	// Fields maps an input field to what is wrong with it (Invalid only).
	Fields map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		b.WriteString("; ")
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(e.Fields[k])
	}
	return b.String()
}

// New returns an Error of kind with message.
func New(kind Kind, message string) *Error {
	return &Error{Kind: kind, Message: message}
}

// Of returns the kind of the first *Error in err's chain, or Internal.
func Of(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return Internal
}

// Fields collects per-field validation messages; Err returns nil when none
// were added, so validators can build one up and return it.
type Fields map[string]string

// Add records a problem with field, keeping the first one reported.
func (f Fields) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns an Invalid error carrying the fields, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "the request has invalid fields", Fields: map[string]string(f)}
}

// AsError returns the first *Error in err's chain.
func AsError(err error) (*Error, bool) {
	return errors.AsType[*Error](err)
}
