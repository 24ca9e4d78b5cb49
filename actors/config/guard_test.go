package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/config"
)

func TestHostileFilesAreRefused(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "x = " + strings.Repeat(open, n) + strings.Repeat(close, n) + "\n"
	}
	nestedFor := "x = " + strings.Repeat("[for a in [1,2,3,4,5,6,7,8,9,10] : ", 8) + "1" + strings.Repeat("]", 8) + "\n"
	tests := []struct {
		name, src, want string
	}{
		{"too large", strings.Repeat("#", config.MaxFileSize+1),
			"t.hcl: the file is 131073 bytes; allowed: at most 131072 bytes (128 KiB)"},
		{"400 KB of brackets", strings.Repeat("[", 400<<10), "t.hcl: the file is 409600 bytes"},
		{"brackets past the limit", deep("[", "]", 40),
			"t.hcl:1:37: nesting is deeper than 32 levels; allowed: at most 32 levels of blocks, brackets, braces, parentheses and interpolations"},
		{"blocks past the limit", strings.Repeat("a {\n", 33) + strings.Repeat("}\n", 33), "t.hcl:33:3: nesting is deeper than 32 levels"},
		{"parentheses", deep("(", ")", 40), "t.hcl:1:37: nesting is deeper than 32 levels"},
		{"interpolations", "x = " + strings.Repeat(`"${`, 40) + strings.Repeat(`}"`, 40) + "\n", "t.hcl:1:53: nesting is deeper than 32 levels"},
		{"interpolations in a heredoc", "x = <<EOT\n" + strings.Repeat("${[", 20) + "\nEOT\n", "t.hcl:2:48: nesting is deeper than 32 levels"},
		{"nested for expressions", nestedFor, "t.hcl:1:5: a for expression is not allowed; allowed: literal values: strings, numbers, true or false, lists and maps of them"},
		{"template for", `x = "%{ for a in [1,2] }${a}%{ endfor }"` + "\n", "t.hcl:1:6: a for expression is not allowed"},
		{"function call", `name = upper("x")` + "\n", "t.hcl:1:8: a function call is not allowed"},
		{"splat", "x = [{a = 1}][*].a\n", "t.hcl:1:5: a splat expression is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), "t.hcl")
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, config.ErrInvalid)
			assert.True(t, strings.HasPrefix(err.Error(), tt.want), "got %q", err.Error())
		})
	}
}

// What only looks like nesting is not counted: brackets in comments,
// strings and heredocs, and escaped interpolations.
func TestGuardSkipsWhatDoesNotNest(t *testing.T) {
	many := strings.Repeat("[", 100)
	src := "# " + many + "\n// " + many + "\n/* " + many + "\n*/\n" +
		"name = \"n" + strings.Repeat("$${", 40) + "\"\n" +
		"drain_timeout = <<-EOT\n  " + many + "\n  EOT\n"
	_, err := config.Parse([]byte(src), "t.hcl")
	require.Error(t, err) // the values are not valid: but parsed, not refused
	assert.Contains(t, err.Error(), "t.hcl:5:8: name is")
	assert.NotContains(t, err.Error(), "nesting")
}

func TestProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	for i := range 150 {
		fmt.Fprintf(&b, "unknown%d = 1\n", i)
	}
	src := b.String()
	_, err := config.Parse([]byte(src), "t.hcl")
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, config.MaxProblems+1)
	assert.Equal(t, "t.hcl:101:1: and 50 more problems from here on, not listed", lines[config.MaxProblems])
}

func TestLongValuesAreCutOnACharacter(t *testing.T) {
	_, err := config.Parse([]byte("name = \""+strings.Repeat("é", 40)+"\"\n"), "t.hcl")
	require.Error(t, err)
	assert.True(t, utf8.ValidString(err.Error()))
	assert.Contains(t, err.Error(), "é...;")
}

// allocBound is the most Parse may allocate for a file of n bytes: the
// files below measure about 800 bytes per byte of input.
func allocBound(n int) uint64 { return 1<<20 + 1200*uint64(n) }

// The largest files Parse reads cost a bounded amount of memory, whatever
// their shape.
func TestLargestFilesAreCheap(t *testing.T) {
	fill := func(unit string) string {
		return strings.Repeat(unit, (config.MaxFileSize-16)/len(unit))
	}
	tests := map[string]string{
		"flat list":     "x = [" + fill("1,") + "]",
		"flat map":      "x = {" + fill("a=1\n") + "}",
		"pools":         fill("pool \"a\" {\n}\n"),
		"deep lists":    "x = [" + fill(strings.Repeat("[", 30)+strings.Repeat("]", 30)+",") + "]",
		"interpolation": "x = [" + fill(`"${"${"a"}"}",`) + "]",
		"attributes":    fill("a = 1\n"),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			alloc := allocated(func() { _, _ = config.Parse([]byte(src), "t.hcl") })
			assert.LessOrEqual(t, alloc, allocBound(len(src)), "%d bytes allocated for %d bytes", alloc, len(src))
		})
	}
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzDecode feeds Parse arbitrary files: it must return a configuration or
// an error, never panic, within a bounded memory and time for each input.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../../examples/*/*.hcl")
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(src)
	}
	for _, seed := range []string{
		"", "pool \"a\" {\n workers = 2\n}\n", `name = "${"${"x"}"}"`, "x = <<EOT\n${[1]}\nEOT\n",
		"x = [for a in [1,2] : a]", `x = "%{ for a in [1] }${a}%{ endfor }"`, "a { b { c = [[[{}]]] } }",
		"pool \"p\" {\n kind = \"process\"\n process { command = \"a\\u0000b\" }\n}\n",
		"limits {\n memory_soft = \"1GiB\"\n}\n", "/* unclosed", "\"unclosed", "x = <<EOT\nno end",
		strings.Repeat("[", 64), strings.Repeat("${", 64),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		var c *config.Config
		var err error
		alloc := allocated(func() { c, err = config.Parse(src, "f.hcl") })
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("Parse took %s for %d bytes", took, len(src))
		}
		if alloc > allocBound(len(src)) {
			t.Fatalf("Parse allocated %d bytes for %d bytes", alloc, len(src))
		}
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v: one of them must be nil", c, err)
		}
		if err != nil && !utf8.ValidString(err.Error()) && utf8.Valid(src) {
			t.Fatalf("error is not UTF-8: %q", err.Error())
		}
	})
}
