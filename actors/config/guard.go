package config

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Bounds on what Parse reads, so that a hostile or broken file costs little:
// HCL's parser and evaluator recurse once per level of nesting and build a
// value per element, and its for expressions multiply work.
const (
	// MaxFileSize is the largest file Parse reads, in bytes.
	MaxFileSize = 128 << 10
	// MaxNesting is the deepest nesting Parse reads: of blocks, brackets,
	// braces, parentheses and string interpolations together.
	MaxNesting = 32
	// MaxProblems is the most problems Parse lists; a last one says how
	// many more it found.
	MaxProblems = 100
)

// guard checks src before HCL's parser sees it: its size, then its
// nesting depth, with a scan that follows HCL's lexer far enough to skip
// comments, strings and heredocs (whose brackets do not nest) and to count
// the interpolations inside them (which do).
func guard(src []byte, filename string) *Error {
	if len(src) > MaxFileSize {
		return &Error{File: filename, Message: fmt.Sprintf("the file is %d bytes", len(src)),
			Allowed: fmt.Sprintf("at most %d bytes (%d KiB)", MaxFileSize, MaxFileSize>>10)}
	}
	const (
		code   = iota // HCL syntax, at the top level or inside ${ }
		quoted        // a "quoted" template
		heredoc
	)
	type frame struct {
		kind int
		tag  []byte // a heredoc's closing marker
	}
	stack := []frame{{kind: code}}
	line, col := 1, 1
	deepest := func() *Error {
		return &Error{File: filename, Line: line, Column: col,
			Message: fmt.Sprintf("nesting is deeper than %d levels", MaxNesting),
			Allowed: fmt.Sprintf("at most %d levels of blocks, brackets, braces, parentheses and interpolations", MaxNesting)}
	}
	push := func(f frame) bool {
		stack = append(stack, f)
		return len(stack)-1 <= MaxNesting
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		top := &stack[len(stack)-1]
		switch top.kind {
		case code:
			switch {
			case c == '#' || (c == '/' && i+1 < len(src) && src[i+1] == '/'):
				for i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
			case c == '/' && i+1 < len(src) && src[i+1] == '*':
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return nil // HCL reports the unclosed comment
				}
				skipped := src[i : i+2+end+2]
				line += bytes.Count(skipped, []byte("\n"))
				if k := bytes.LastIndexByte(skipped, '\n'); k >= 0 {
					col = len(skipped) - k
				} else {
					col += len(skipped)
				}
				i += len(skipped) - 1
				continue
			case c == '"':
				if !push(frame{kind: quoted}) {
					return deepest()
				}
			case c == '<' && i+1 < len(src) && src[i+1] == '<':
				if tag, n := heredocStart(src[i:]); tag != nil {
					if !push(frame{kind: heredoc, tag: tag}) {
						return deepest()
					}
					i += n - 1 // up to the newline, which the loop below counts
					col += n - 1
				}
			case c == '(' || c == '[' || c == '{':
				if !push(frame{kind: code}) {
					return deepest()
				}
			case c == ')' || c == ']' || c == '}':
				if len(stack) > 1 {
					stack = stack[:len(stack)-1]
				}
			}
		case quoted:
			switch {
			case c == '\\':
				i++ // an escaped character, never a quote or an interpolation
				col++
			case c == '"' || c == '\n':
				stack = stack[:len(stack)-1] // a newline ends it: HCL reports that
			case (c == '$' || c == '%') && i+2 < len(src) && src[i+1] == c && src[i+2] == '{':
				i += 2 // $${ and %%{ are a literal ${ and %{
				col += 2
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if !push(frame{kind: code}) {
					return deepest()
				}
				i++
				col++
			}
		case heredoc:
			if col == 1 && heredocEnd(src[i:], top.tag) {
				stack = stack[:len(stack)-1]
				break
			}
			if (c == '$' || c == '%') && i+2 < len(src) && src[i+1] == c && src[i+2] == '{' {
				i += 2
				col += 2
			} else if (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{' {
				if !push(frame{kind: code}) {
					return deepest()
				}
				i++
				col++
			}
		}
		if i < len(src) && src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return nil
}

// heredocStart returns the marker of a heredoc that starts src ("<<EOF\n"
// or "<<-EOF\n") and the length of its opening up to the newline; nil if
// src does not start one.
func heredocStart(src []byte) ([]byte, int) {
	i := 2
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && (src[i] == '_' || src[i] == '-' || isLetter(src[i]) || (i > start && src[i] >= '0' && src[i] <= '9')) {
		i++
	}
	if i == start {
		return nil, 0
	}
	tag := src[start:i]
	if i < len(src) && src[i] == '\r' {
		i++
	}
	if i >= len(src) || src[i] != '\n' {
		return nil, 0
	}
	return tag, i
}

// heredocEnd reports whether the line that starts src closes the heredoc
// tag: the marker alone, after optional spaces.
func heredocEnd(src, tag []byte) bool {
	rest := bytes.TrimLeft(src, " \t")
	if !bytes.HasPrefix(rest, tag) {
		return false
	}
	rest = rest[len(tag):]
	return len(rest) == 0 || rest[0] == '\n' || rest[0] == '\r'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// costly reports the expressions of body whose evaluation could cost far
// more than their size: for expressions (in lists, maps and templates) and
// function calls, which a configuration never needs. Values are evaluated
// with no variables and no functions, so the rest is linear in the file.
func (d *decoder) costly(body *hclsyntax.Body) {
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		var what string
		switch n.(type) {
		case *hclsyntax.ForExpr, *hclsyntax.TemplateJoinExpr:
			what = "a for expression"
		case *hclsyntax.FunctionCallExpr:
			what = "a function call"
		case *hclsyntax.SplatExpr:
			what = "a splat expression"
		default:
			return nil
		}
		d.add(n.Range(), Error{Message: what + " is not allowed", Allowed: "literal values: strings, numbers, true or false, lists and maps of them"})
		return nil
	})
}
