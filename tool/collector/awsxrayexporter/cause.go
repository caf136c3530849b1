package awsxrayexporter

import (
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxFrames bounds the stack of one exception; X-Ray records the rest as
// "truncated".
const maxFrames = 100

// makeCause builds the X-Ray cause from every "exception" event of the span,
// including exceptions recorded on spans that did not fail (handled ones);
// a failed span without such events gets its status message. Stack traces are
// parsed into frames (Python and Java formats), and chained exceptions become
// exceptions linked through "cause".
func makeCause(span ptrace.Span, res pcommon.Map, failed bool) *cause {
	remote := span.Kind() == ptrace.SpanKindClient || span.Kind() == ptrace.SpanKindProducer
	lang := strings.ToLower(strAttr(res, "telemetry.sdk.language"))
	var out []exception
	n := 0
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if ev.Name() != "exception" {
			continue
		}
		ea := ev.Attributes()
		top := parsedException{typ: strAttr(ea, "exception.type"), msg: strAttr(ea, "exception.message")}
		chain := parseStacktrace(strAttr(ea, "exception.stacktrace"), lang)
		if len(chain) > 0 {
			// The recorded type and message describe the outermost exception;
			// the trace's own text for it may be module-qualified or cut.
			if top.typ == "" {
				top.typ = chain[0].typ
			}
			if top.msg == "" {
				top.msg = chain[0].msg
			}
			top.frames = chain[0].frames
			chain = chain[1:]
		}
		all := append([]parsedException{top}, chain...)
		for j, p := range all {
			ex := exception{ID: derivedID(span.SpanID(), n), Type: p.typ, Message: p.msg, Remote: remote}
			n++
			ex.Stack = p.frames
			if len(ex.Stack) > maxFrames {
				ex.Truncated = len(ex.Stack) - maxFrames
				ex.Stack = ex.Stack[:maxFrames]
			}
			if j > 0 {
				out[len(out)-1].Cause = ex.ID
			}
			out = append(out, ex)
		}
	}
	if len(out) == 0 && failed {
		if msg := span.Status().Message(); msg != "" {
			out = append(out, exception{ID: derivedID(span.SpanID(), 0), Message: msg, Remote: remote})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &cause{Exceptions: out}
}

// parsedException is one exception of a stack trace, frames innermost first.
type parsedException struct {
	typ, msg string
	frames   []stackFrame
}

// parseStacktrace returns the exceptions of a stack trace, outermost (the
// one raised last) first, each followed by the one that caused it.
func parseStacktrace(text, lang string) []parsedException {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	switch {
	case text == "":
		return nil
	case lang == "python" || strings.Contains(text, pythonHeader):
		return parsePython(text)
	case lang == "java" || strings.Contains(text, "\n\tat "):
		return parseJava(text)
	}
	return nil
}

const pythonHeader = "Traceback (most recent call last):"

var (
	pythonFrame = regexp.MustCompile(`^[\s|]*File "(.+)", line (\d+)(?:, in (.+))?$`)
	// Python prints these between a chain's exceptions, the earlier one first.
	pythonChain = []string{
		"During handling of the above exception, another exception occurred:",
		"The above exception was the direct cause of the following exception:",
	}
)

// parsePython reads traceback.format_exception output: blocks of
// "Traceback ..." + frames (each with its source line and, since 3.11, a
// caret line) + "module.Type: message", chained by the two sentences above.
func parsePython(text string) []parsedException {
	var blocks []parsedException
	var cur *parsedException
	var tail []string
	flush := func() {
		if cur == nil {
			return
		}
		cur.typ, cur.msg = splitTypeMessage(strings.TrimSpace(strings.Join(tail, "\n")))
		// Python prints the outermost frame first; X-Ray wants the innermost.
		for i, j := 0, len(cur.frames)-1; i < j; i, j = i+1, j-1 {
			cur.frames[i], cur.frames[j] = cur.frames[j], cur.frames[i]
		}
		blocks = append(blocks, *cur)
		cur, tail = nil, nil
	}
	inTail := false
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == pythonHeader:
			flush()
			cur, inTail = &parsedException{}, false
		case isPythonChain(trimmed):
			flush()
			inTail = false
		case pythonFrame.MatchString(line) && !inTail:
			if cur == nil {
				cur = &parsedException{}
			}
			m := pythonFrame.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			cur.frames = append(cur.frames, stackFrame{Path: m[1], Line: n, Label: m[3]})
		case !inTail && (strings.HasPrefix(line, "    ") || strings.HasPrefix(trimmed, "[Previous line repeated")):
			// A frame's source line or caret markers.
		case trimmed == "" && !inTail:
		default:
			if cur == nil {
				cur = &parsedException{}
			}
			inTail = true
			tail = append(tail, line)
		}
	}
	flush()
	// Oldest first in the text; outermost first for X-Ray.
	for i, j := 0, len(blocks)-1; i < j; i, j = i+1, j-1 {
		blocks[i], blocks[j] = blocks[j], blocks[i]
	}
	return blocks
}

func isPythonChain(line string) bool {
	for _, s := range pythonChain {
		if line == s {
			return true
		}
	}
	return false
}

// splitTypeMessage splits "pkg.Type: message" (a bare "Type" has no message).
func splitTypeMessage(s string) (typ, msg string) {
	first, rest, _ := strings.Cut(s, "\n")
	typ, msg, found := strings.Cut(first, ": ")
	if !found {
		typ = strings.TrimSuffix(first, ":")
	}
	if rest != "" {
		msg = strings.TrimSpace(msg + "\n" + rest)
	}
	return strings.TrimSpace(typ), msg
}

var javaFrame = regexp.MustCompile(`^\s+at (?:[^/]+/)?([^(]+)\(([^:)]*)(?::(\d+))?\)$`)

// parseJava reads Throwable.printStackTrace output: "Type: message",
// "\tat label(File.java:line)" frames, "Caused by: ..." for each cause.
func parseJava(text string) []parsedException {
	var out []parsedException
	for _, line := range strings.Split(text, "\n") {
		switch {
		case javaFrame.MatchString(line):
			if len(out) == 0 {
				out = append(out, parsedException{})
			}
			m := javaFrame.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[3])
			last := &out[len(out)-1]
			last.frames = append(last.frames, stackFrame{Path: m[2], Line: n, Label: m[1]})
		case strings.HasPrefix(line, "Caused by: "):
			t, m := splitTypeMessage(strings.TrimPrefix(line, "Caused by: "))
			out = append(out, parsedException{typ: t, msg: m})
		case len(out) == 0 && strings.TrimSpace(line) != "":
			t, m := splitTypeMessage(line)
			out = append(out, parsedException{typ: t, msg: m})
		}
	}
	return out
}
