package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/router"
	"github.com/drover-go/drover/supervision"
)

// Parse parses a configuration in HCL's native syntax; filename names it in
// errors. It returns the configuration with defaults filled in, or every
// problem found, joined with errors.Join in the order they appear in the
// source, each an *Error matching ErrInvalid.
func Parse(src []byte, filename string) (*Config, error) {
	if filename == "" {
		filename = "<config>"
	}
	if e := guard(src, filename); e != nil {
		return nil, e
	}
	d := &decoder{src: src}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		d.diagnostics(diags)
		return nil, d.err()
	}
	root, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, &Error{File: filename, Message: "not HCL native syntax"}
	}
	if d.costly(root); len(d.errs) > 0 {
		return nil, d.err() // before any of it is evaluated
	}
	c := d.config(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	c.File = filename
	return c, nil
}

// Fields and blocks of each kind of block.
var (
	topFields      = []string{"name", "drain_timeout"}
	topBlocks      = []string{"log", "admin", "api", "limits", "cluster", "pool"}
	logFields      = []string{"level", "format"}
	adminFields    = []string{"address"}
	limitsFields   = []string{"memory_soft", "memory_hard", "cpu_percent", "interval", "window"}
	poolFields     = []string{"kind", "workers", "min_workers", "max_workers", "concurrency", "strategy", "weights", "queue_capacity", "task_timeout", "stable_period", "aging", "shed", "stuck_grace", "quarantine_after"}
	poolBlocks     = []string{"restarts", "total_restarts", "pool_restarts", "backoff", "scale", "health", "breaker", "retry", "process"}
	restartsFields = []string{"max", "window", "scope"}
	poolRestarts   = []string{"max", "window"}
	scaleFields    = []string{"interval", "up_utilization", "up_after", "down_utilization", "cooldown"}
	healthFields   = []string{"interval", "timeout", "failure_threshold"}
	breakerFields  = []string{"failure_threshold", "reset_timeout", "half_open_trials", "scope"}
	retryFields    = []string{"max_attempts"}
	retryBlocks    = []string{"backoff"}
	scopeNames     = []string{"one-for-one", "all-for-one", "rest-for-one"}
	breakerScopes  = []string{"pool-faults", "all-results"}
	backoffFields  = []string{"initial", "max", "multiplier", "jitter"}
	processFields  = []string{"command", "args", "env", "dir", "start_timeout", "kill_grace", "max_memory", "max_tasks"}

	kindNames = []string{"cpu", "io", "mixed", "process"}
)

type decoder struct {
	src  []byte
	errs []*Error
}

func (d *decoder) add(r hcl.Range, e Error) {
	e.File, e.Line, e.Column = r.Filename, r.Start.Line, r.Start.Column
	d.errs = append(d.errs, &e)
}

func (d *decoder) diagnostics(diags hcl.Diagnostics) {
	for _, dg := range diags {
		if dg.Severity != hcl.DiagError {
			continue
		}
		msg := strings.TrimSuffix(dg.Summary, ".")
		if dg.Detail != "" {
			msg += ": " + dg.Detail
		}
		e := Error{Message: msg}
		if dg.Subject != nil {
			d.add(*dg.Subject, e)
		} else {
			d.errs = append(d.errs, &e)
		}
	}
}

// err returns the problems found, in source order.
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, 0, min(len(d.errs), MaxProblems+1))
	for _, e := range d.errs[:min(len(d.errs), MaxProblems)] {
		errs = append(errs, e)
	}
	if more := len(d.errs) - MaxProblems; more > 0 {
		last := d.errs[MaxProblems]
		errs = append(errs, &Error{File: last.File, Line: last.Line, Column: last.Column,
			Message: fmt.Sprintf("and %d more problems from here on, not listed", more)})
	}
	return errors.Join(errs...)
}

// text returns the source of r as written, on one line and at most 60
// bytes, cut on a character boundary.
func (d *decoder) text(r hcl.Range) string {
	s := strings.Join(strings.Fields(string(r.SliceBytes(d.src))), " ")
	if len(s) > 60 {
		cut := 57
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.ToValidUTF8(s[:cut], "\ufffd") + "..."
	}
	return s
}

// body is one block's body as the decoder walks it.
type body struct {
	d      *decoder
	path   string // the enclosing pool, as `pool "cpu"`; "" elsewhere
	prefix string // prepended to field names: "backoff." within a backoff block
	b      *hclsyntax.Body
}

func (b *body) child(blk *hclsyntax.Block, path string) *body {
	return &body{d: b.d, path: path, prefix: b.prefix + blk.Type + ".", b: blk.Body}
}

// only reports the attributes and blocks of b not in fields and blocks.
func (b *body) only(fields, blocks []string) {
	for name, a := range b.b.Attributes {
		if slices.Contains(fields, name) {
			continue
		}
		e := Error{Path: b.path, Message: fmt.Sprintf("unknown field %q", b.prefix+name), Allowed: strings.Join(fields, ", ")}
		if slices.Contains(blocks, name) {
			e.Message = fmt.Sprintf("%s is a block, not a field", b.prefix+name)
			e.Allowed = name + " { ... }"
		}
		b.d.add(a.NameRange, e)
	}
	for _, blk := range b.b.Blocks {
		if slices.Contains(blocks, blk.Type) {
			continue
		}
		e := Error{Path: b.path, Message: fmt.Sprintf("unknown block %q", b.prefix+blk.Type), Allowed: strings.Join(blocks, ", ")}
		if len(blocks) == 0 {
			e.Allowed = "no blocks here"
		}
		if slices.Contains(fields, blk.Type) {
			e.Message = fmt.Sprintf("%s is a field, not a block", b.prefix+blk.Type)
			e.Allowed = blk.Type + " = ..."
		}
		b.d.add(blk.TypeRange, e)
	}
}

// blocks returns the blocks of type name that have the right number of
// labels (0, or 1 for a name), and reports the others.
func (b *body) blocks(name string, labels int) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.b.Blocks {
		if blk.Type != name {
			continue
		}
		if len(blk.Labels) == labels {
			out = append(out, blk)
			continue
		}
		e := Error{Path: b.path, Message: fmt.Sprintf("%s block has %d labels", b.prefix+name, len(blk.Labels))}
		if labels == 0 {
			e.Allowed = "none, as in " + name + " { ... }"
		} else {
			e.Allowed = "one, its name, as in " + name + ` "cpu" { ... }`
		}
		b.d.add(blk.TypeRange, e)
	}
	return out
}

// single returns the one block of type name without labels, or nil, and
// reports any repeat.
func (b *body) single(name string) *hclsyntax.Block {
	bs := b.blocks(name, 0)
	if len(bs) == 0 {
		return nil
	}
	for _, again := range bs[1:] {
		b.d.add(again.TypeRange, Error{
			Path:    b.path,
			Message: fmt.Sprintf("%s block is declared twice (first at line %d)", b.prefix+name, bs[0].TypeRange.Start.Line),
			Allowed: "one " + b.prefix + name + " block",
		})
	}
	return bs[0]
}

// bad reports attribute a's value as outside what is allowed.
func (b *body) bad(a *hclsyntax.Attribute, allowed string) {
	r := a.Expr.Range()
	b.d.add(r, Error{Path: b.path, Field: b.prefix + a.Name, Value: b.d.text(r), Allowed: allowed})
}

// value evaluates attribute name as a constant of type ty. It returns nil
// if the attribute is absent, and reports it (and returns nil) if it is not
// a constant convertible to ty.
func (b *body) value(name string, ty cty.Type, allowed string) (cty.Value, *hclsyntax.Attribute) {
	a := b.b.Attributes[name]
	if a == nil {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(nil)
	if !diags.HasErrors() && v.IsWhollyKnown() && !v.IsNull() {
		if ty != cty.DynamicPseudoType {
			var err error
			v, err = convert.Convert(v, ty)
			if err != nil {
				v = cty.NilVal
			}
		}
		if v != cty.NilVal {
			return v, a
		}
	}
	b.bad(a, allowed)
	return cty.NilVal, nil
}

// str returns attribute name as a string that ok accepts (any, if ok is nil).
func (b *body) str(name, allowed string, ok func(string) bool) (string, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.String, allowed)
	if a == nil {
		return "", nil
	}
	s := v.AsString()
	if ok != nil && !ok(s) {
		b.bad(a, allowed)
		return "", nil
	}
	return s, a
}

func (b *body) enum(name string, names []string) (string, *hclsyntax.Attribute) {
	return b.str(name, strings.Join(names, ", "), func(s string) bool { return slices.Contains(names, s) })
}

func (b *body) int(name string, r intRange) (int, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.Number, r.allowed())
	if a == nil {
		return 0, nil
	}
	f := v.AsBigFloat()
	n, acc := f.Int64()
	if !f.IsInt() || acc != big.Exact || n < int64(r.min) || n > int64(r.max) {
		b.bad(a, r.allowed())
		return 0, nil
	}
	return int(n), a
}

func (b *body) bool(name string) (bool, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.Bool, "true or false")
	if a == nil {
		return false, nil
	}
	return v.True(), a
}

func (b *body) float(name string, r floatRange) (float64, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.Number, r.allowed)
	if a == nil {
		return 0, nil
	}
	f, _ := v.AsBigFloat().Float64()
	if math.IsNaN(f) || f < r.min || f > r.max {
		b.bad(a, r.allowed)
		return 0, nil
	}
	return f, a
}

func (b *body) duration(name string, r durationRange) (time.Duration, *hclsyntax.Attribute) {
	var d time.Duration
	_, a := b.str(name, r.allowed, func(s string) bool {
		var err error
		d, err = time.ParseDuration(s)
		return err == nil && r.contains(d)
	})
	return d, a
}

// size returns attribute name as a number of bytes: a number, or a string
// with a unit (B, KB, MB, GB, TB, PB in powers of 1000; KiB ... PiB in
// powers of 1024).
func (b *body) size(name string, r sizeRange) (uint64, *hclsyntax.Attribute) {
	var n uint64
	_, a := b.str(name, r.allowed, func(s string) bool {
		var ok bool
		n, ok = parseSize(s)
		return ok && r.contains(n)
	})
	return n, a
}

var sizePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]i?b|b)?$`)

func parseSize(s string) (uint64, bool) {
	m := sizePattern.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	unit := 1.0
	if u := m[2]; len(u) > 1 {
		base := 1000.0
		if strings.Contains(u, "i") {
			base = 1024
		}
		unit = math.Pow(base, float64(strings.IndexByte("kmgtp", u[0])+1))
	}
	f *= unit
	if f > math.MaxUint64/2 || f != math.Trunc(f) {
		return 0, false
	}
	return uint64(f), true
}

// intList returns attribute name as a list of at most maxLen integers,
// each in r.
func (b *body) intList(name string, r intRange, maxLen int) ([]int, *hclsyntax.Attribute) {
	allowed := fmt.Sprintf("a list of at most %d numbers, each %s, such as [3, 1]", maxLen, r.allowed())
	v, a := b.value(name, cty.List(cty.Number), allowed)
	if a == nil {
		return nil, nil
	}
	if v.LengthInt() > maxLen {
		b.bad(a, allowed)
		return nil, nil
	}
	out := make([]int, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			b.bad(a, allowed)
			return nil, nil
		}
		f := e.AsBigFloat()
		n, acc := f.Int64()
		if !f.IsInt() || acc != big.Exact || n < int64(r.min) || n > int64(r.max) {
			b.bad(a, allowed)
			return nil, nil
		}
		out = append(out, int(n))
	}
	return out, a
}

// inFileNames writes the PoolConfig field names in an actors error as the
// file names them: "Workers is 9; allowed: MinWorkers (1) to MaxWorkers
// (4)" becomes "workers is 9; allowed: min_workers (1) to max_workers (4)".
func inFileNames(msg string) string {
	return fieldName.ReplaceAllStringFunc(msg, func(f string) string {
		if name, ok := fileNames[f]; ok {
			return name
		}
		return f
	})
}

var fieldName = regexp.MustCompile(`\b[A-Z][A-Za-z]*\b`)

// noNUL reports whether s has no NUL byte: one that the operating system
// would cut a command, an argument or a variable at.
func noNUL(s string) bool { return !strings.ContainsRune(s, 0) }

func (b *body) stringList(name, allowed string) ([]string, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.List(cty.String), allowed)
	if a == nil {
		return nil, nil
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			b.bad(a, allowed)
			return nil, nil
		}
		out = append(out, e.AsString())
	}
	return out, a
}

func (b *body) stringMap(name, allowed string, ok func(k, v string) bool) (map[string]string, *hclsyntax.Attribute) {
	v, a := b.value(name, cty.Map(cty.String), allowed)
	if a == nil {
		return nil, nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() || !ok(k.AsString(), e.AsString()) {
			b.bad(a, allowed)
			return nil, nil
		}
		out[k.AsString()] = e.AsString()
	}
	return out, a
}

func (d *decoder) config(root *hclsyntax.Body) *Config {
	c := Default()
	b := &body{d: d, b: root}
	b.only(topFields, topBlocks)
	if s, a := b.str("name", allowedName, validName); a != nil {
		c.Name = s
	}
	if v, a := b.duration("drain_timeout", drainTimeout); a != nil {
		c.DrainTimeout = v
	}
	if blk := b.single("log"); blk != nil {
		lb := b.child(blk, "")
		lb.only(logFields, nil)
		if s, a := lb.enum("level", logLevelNames); a != nil {
			c.Log.Level = hclog.LevelFromString(s)
		}
		if s, a := lb.enum("format", logFormats); a != nil {
			c.Log.Format = s
		}
	}
	if blk := b.single("admin"); blk != nil {
		ab := b.child(blk, "")
		ab.only(adminFields, nil)
		if s, a := ab.str("address", allowedAddress, validAddress); a != nil {
			c.Admin.Address = s
		}
	}
	if blk := b.single("api"); blk != nil {
		c.API = d.api(b.child(blk, ""))
	}
	if blk := b.single("limits"); blk != nil {
		c.Limits = d.limits(b.child(blk, ""))
	}
	if blk := b.single("cluster"); blk != nil {
		c.Cluster = d.cluster(b.child(blk, ""))
	}
	first := map[string]*hclsyntax.Block{}
	for _, blk := range b.blocks("pool", 1) {
		name := blk.Labels[0]
		if !validName(name) {
			d.add(blk.LabelRanges[0], Error{Field: "pool name", Value: d.text(blk.LabelRanges[0]), Allowed: allowedName})
			continue
		}
		path := fmt.Sprintf("pool %q", name)
		if prev := first[name]; prev != nil {
			d.add(blk.LabelRanges[0], Error{
				Path:    path,
				Message: fmt.Sprintf("declared twice (first at line %d)", prev.TypeRange.Start.Line),
				Allowed: "one pool per name",
			})
			continue
		}
		first[name] = blk
		found := len(d.errs)
		pc := d.pool(&body{d: d, path: path, b: blk.Body}, blk)
		if len(d.errs) == found {
			// The rules between fields that only the whole pool shows
			// (workers within min_workers and max_workers, say) are actors'.
			if err := pc.Validate(); err != nil {
				msg := strings.TrimPrefix(err.Error(), actors.ErrInvalidConfig.Error()+": ")
				d.add(blk.TypeRange, Error{Path: path, Message: inFileNames(strings.TrimPrefix(msg, path+": "))})
			}
		}
		c.Pools = append(c.Pools, pc)
	}
	return c
}

func (d *decoder) limits(b *body) Limits {
	var l Limits
	b.only(limitsFields, nil)
	soft, softAttr := b.size("memory_soft", memorySize)
	hard, hardAttr := b.size("memory_hard", memorySize)
	if softAttr != nil {
		l.MemorySoft = soft
	}
	if hardAttr != nil {
		if softAttr != nil && hard < soft {
			b.bad(hardAttr, fmt.Sprintf("at least limits.memory_soft (%s)", d.text(softAttr.Expr.Range())))
		} else {
			l.MemoryHard = hard
		}
	}
	if f, a := b.float("cpu_percent", cpuPercent); a != nil {
		l.CPUPercent = f
	}
	interval, intervalAttr := b.duration("interval", resourceInterval)
	if intervalAttr != nil {
		l.Interval = interval
	}
	if v, a := b.duration("window", resourceInterval); a != nil {
		if eff := cmp.Or(l.Interval, actors.DefaultResourceInterval); v < eff {
			b.bad(a, "at least limits.interval ("+formatDuration(eff)+")")
		} else {
			l.Window = v
		}
	}
	return l
}

func (d *decoder) pool(b *body, blk *hclsyntax.Block) actors.PoolConfig {
	pc := actors.PoolConfig{Name: blk.Labels[0]}
	b.only(poolFields, poolBlocks)
	kindName, kindAttr := b.enum("kind", kindNames)
	kindBad := kindAttr == nil && b.b.Attributes["kind"] != nil // reported already
	if kindAttr != nil {
		pc.Kind, _ = actors.ParseKind(kindName)
	}
	if n, a := b.int("workers", workers); a != nil {
		pc.Workers = n
	}
	minW, minAttr := b.int("min_workers", workers)
	maxW, maxAttr := b.int("max_workers", workers)
	if minAttr != nil {
		pc.MinWorkers = minW
	}
	if maxAttr != nil {
		pc.MaxWorkers = maxW
		if minAttr != nil && minW > maxW {
			b.bad(maxAttr, "at least min_workers ("+strconv.Itoa(minW)+")")
		}
	} else if minAttr != nil {
		b.bad(minAttr, "only with max_workers, which makes the pool dynamic")
	}
	if n, a := b.int("concurrency", concurrency); a != nil {
		pc.Concurrency = n
	}
	if v, a := b.duration("aging", aging); a != nil {
		pc.Aging = v
	}
	if v, a := b.bool("shed"); a != nil {
		pc.Shed = v
	}
	if v, a := b.duration("stuck_grace", stuckGrace); a != nil {
		pc.StuckGrace = v
	}
	if s, a := b.enum("strategy", router.Names()); a != nil {
		pc.Strategy = s
	}
	if ws, a := b.intList("weights", weight, maxWeights); a != nil {
		pc.Weights = ws
	}
	if n, a := b.int("quarantine_after", quarantineAfter); a != nil {
		pc.QuarantineAfter = n
		if n == 0 {
			pc.QuarantineAfter = actors.NoQuarantine
		}
	}
	if n, a := b.int("queue_capacity", queueCapacity); a != nil {
		pc.QueueCapacity = n
	}
	if v, a := b.duration("task_timeout", taskTimeout); a != nil {
		pc.TaskTimeout = v
	}
	if v, a := b.duration("stable_period", stablePeriod); a != nil {
		pc.StablePeriod = v
	}
	if rb := b.single("restarts"); rb != nil {
		pc.Restarts, pc.Scope = d.restarts(b.child(rb, b.path), restartsFields)
	}
	if rb := b.single("total_restarts"); rb != nil {
		pc.TotalRestarts, _ = d.restarts(b.child(rb, b.path), poolRestarts)
	}
	if rb := b.single("pool_restarts"); rb != nil {
		pc.PoolRestarts, _ = d.restarts(b.child(rb, b.path), poolRestarts)
	}
	if bb := b.single("backoff"); bb != nil {
		pc.Backoff = d.backoff(b.child(bb, b.path))
	}
	if sb := b.single("scale"); sb != nil {
		if maxAttr == nil {
			d.add(sb.TypeRange, Error{Path: b.path, Message: "scale block in a fixed pool", Allowed: "only with max_workers, which makes the pool dynamic"})
		} else {
			pc.Scale = d.scale(b.child(sb, b.path))
		}
	}
	if hb := b.single("health"); hb != nil {
		h := d.health(b.child(hb, b.path))
		pc.Health = &h
	}
	if bb := b.single("breaker"); bb != nil {
		br, scope := d.breaker(b.child(bb, b.path))
		pc.Breaker, pc.BreakerScope = &br, scope
	}
	if rb := b.single("retry"); rb != nil {
		pc.Retry = d.retry(b.child(rb, b.path))
	}
	pb := b.single("process")
	switch {
	case pb != nil && kindBad:
	case pb != nil && pc.Kind != actors.KindProcess:
		kind := fmt.Sprintf("%q", pc.Kind)
		if kindAttr == nil {
			kind += " (the default)"
		}
		d.add(pb.TypeRange, Error{Path: b.path, Message: "process block in a pool of kind " + kind, Allowed: `only in a pool of kind "process"`})
	case pb != nil:
		pc.Process = d.process(b.child(pb, b.path), pb)
	case pc.Kind == actors.KindProcess:
		d.add(blk.TypeRange, Error{Path: b.path, Message: "process block is missing", Allowed: `process { command = "..." }, required for kind "process"`})
	}
	return pc
}

// restarts decodes a restarts, total_restarts or pool_restarts block
// (fields says which fields it has).
// A field left out stays zero, which actors.PoolConfig turns into its
// default: the same as in code.
func (d *decoder) restarts(b *body, fields []string) (supervision.Intensity, supervision.Scope) {
	var in supervision.Intensity
	var scope supervision.Scope
	b.only(fields, nil)
	if slices.Contains(fields, "scope") {
		if s, a := b.enum("scope", scopeNames); a != nil {
			scope, _ = supervision.ParseScope(s)
		}
	}
	if n, a := b.int("max", maxRestarts); a != nil {
		in.MaxRestarts = n
		if n == 0 {
			in.MaxRestarts = supervision.NoRestarts
		}
	}
	if v, a := b.duration("window", restartWindow); a != nil {
		in.Window = v
	}
	return in, scope
}

// scale decodes a dynamic pool's scale block; a field left out takes
// actors' default.
func (d *decoder) scale(b *body) actors.ScalePolicy {
	var s actors.ScalePolicy
	b.only(scaleFields, nil)
	if v, a := b.duration("interval", scaleInterval); a != nil {
		s.Interval = v
	}
	up, upAttr := b.float("up_utilization", utilization)
	if upAttr != nil {
		s.UpUtilization = up
	}
	if n, a := b.int("up_after", upAfter); a != nil {
		s.UpAfter = n
	}
	if f, a := b.float("down_utilization", utilization); a != nil {
		if eff := cmp.Or(s.UpUtilization, actors.DefaultScaleUpUtilization); f > eff {
			b.bad(a, "at most scale.up_utilization ("+strconv.FormatFloat(eff, 'g', -1, 64)+")")
		} else {
			s.DownUtilization = f
		}
	}
	if v, a := b.duration("cooldown", scaleCooldown); a != nil {
		s.Cooldown = v
	}
	return s
}

// health decodes a health block: its presence turns probes on, and a field
// left out takes supervision's default.
func (d *decoder) health(b *body) supervision.HealthPolicy {
	var h supervision.HealthPolicy
	b.only(healthFields, nil)
	if v, a := b.duration("interval", healthInterval); a != nil {
		h.Interval = v
	}
	if v, a := b.duration("timeout", healthInterval); a != nil {
		if eff := h.WithDefaults().Interval; v > eff {
			b.bad(a, "at most health.interval ("+formatDuration(eff)+")")
		} else {
			h.Timeout = v
		}
	} else if eff := h.WithDefaults(); b.b.Attributes["timeout"] == nil && eff.Timeout > eff.Interval {
		b.bad(b.b.Attributes["interval"], "at least health.timeout ("+formatDuration(eff.Timeout)+", the default)")
		h.Interval = 0
	}
	if n, a := b.int("failure_threshold", healthFailures); a != nil {
		h.FailureThreshold = n
	}
	return h
}

// breaker decodes a breaker block: its presence gives the pool breakers,
// and a field left out takes supervision's default.
func (d *decoder) breaker(b *body) (supervision.BreakerConfig, actors.BreakerScope) {
	var br supervision.BreakerConfig
	var scope actors.BreakerScope
	b.only(breakerFields, nil)
	if n, a := b.int("failure_threshold", breakerFailures); a != nil {
		br.FailureThreshold = n
	}
	if v, a := b.duration("reset_timeout", resetTimeout); a != nil {
		br.ResetTimeout = v
	}
	if n, a := b.int("half_open_trials", halfOpenTrials); a != nil {
		br.HalfOpenTrials = n
	}
	if s, a := b.enum("scope", breakerScopes); a != nil {
		scope = actors.BreakerScope(slices.Index(breakerScopes, s))
	}
	return br, scope
}

// retry decodes a pool's retry block: the policy of its tasks that have
// none of their own.
func (d *decoder) retry(b *body) actors.RetryPolicy {
	var r actors.RetryPolicy
	b.only(retryFields, retryBlocks)
	if n, a := b.int("max_attempts", maxAttempts); a != nil {
		r.MaxAttempts = n
	}
	if bb := b.single("backoff"); bb != nil {
		r.Backoff = d.backoff(b.child(bb, b.path))
	}
	return r
}

// backoff decodes a backoff block. A field left out stays zero, which
// supervision.Backoff turns into its default: the same as in code. A max
// left out follows a larger initial.
func (d *decoder) backoff(b *body) supervision.Backoff {
	var bo supervision.Backoff
	b.only(backoffFields, nil)
	initial, initialAttr := b.duration("initial", backoffDelay)
	maxDelay, maxAttr := b.duration("max", backoffDelay)
	if initialAttr != nil {
		bo.Initial = initial
	}
	if maxAttr != nil {
		bo.Max = maxDelay
		if eff := bo.WithDefaults(); eff.Max < eff.Initial {
			allowed := "at least backoff.initial (" + formatDuration(eff.Initial) + ")"
			if initialAttr == nil {
				allowed = "at least backoff.initial (" + formatDuration(eff.Initial) + ", the default)"
			}
			b.bad(maxAttr, allowed)
		}
	}
	if f, a := b.float("multiplier", multiplier); a != nil {
		bo.Multiplier = f
	}
	if f, a := b.float("jitter", jitter); a != nil {
		bo.Jitter = f
		if f == 0 {
			bo.Jitter = supervision.NoJitter
		}
	}
	return bo
}

func (d *decoder) process(b *body, blk *hclsyntax.Block) *actors.ProcessConfig {
	pc := &actors.ProcessConfig{}
	b.only(processFields, nil)
	const allowedCommand = "the path of a worker binary"
	if s, a := b.str("command", allowedCommand, func(s string) bool { return s != "" && noNUL(s) }); a != nil {
		pc.Command = s
	} else if b.b.Attributes["command"] == nil {
		d.add(blk.TypeRange, Error{Path: b.path, Message: "process.command is missing", Allowed: allowedCommand})
	}
	const allowedArgs = `a list of strings without NUL bytes, such as ["--quiet"]`
	if l, a := b.stringList("args", allowedArgs); a != nil {
		if slices.ContainsFunc(l, func(s string) bool { return !noNUL(s) }) {
			b.bad(a, allowedArgs)
		} else {
			pc.Args = l
		}
	}
	const allowedEnv = `a map of strings, such as { LOG_LEVEL = "debug" }, names without "=" and no NUL bytes`
	validEnv := func(k, v string) bool { return k != "" && !strings.ContainsAny(k, "=\x00") && noNUL(v) }
	if m, a := b.stringMap("env", allowedEnv, validEnv); a != nil {
		pc.Env = make([]string, 0, len(m))
		for k, v := range m {
			pc.Env = append(pc.Env, k+"="+v)
		}
		slices.Sort(pc.Env)
	}
	if s, a := b.str("dir", "a directory path", func(s string) bool { return s != "" && noNUL(s) }); a != nil {
		pc.Dir = s
	}
	if v, a := b.duration("start_timeout", startTimeout); a != nil {
		pc.StartTimeout = v
	}
	if v, a := b.duration("kill_grace", killGrace); a != nil {
		pc.KillGrace = v
	}
	if n, a := b.size("max_memory", memorySize); a != nil {
		pc.MaxMemoryBytes = int64(n)
	}
	if n, a := b.int("max_tasks", maxTasks); a != nil {
		pc.MaxTasks = int64(n)
	}
	return pc
}
