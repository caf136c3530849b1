package awsxrayexporter

import (
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"

	"go.uber.org/zap"
)

// maxDocumentBytes is X-Ray's limit for one segment document.
const maxDocumentBytes = 64 * 1024

// fit serialises the segment and, when the document exceeds 64 KB, trims it
// until it fits, in this order: metadata entries (largest first), annotations
// (largest first), exception stacks and chains, the SQL query, links. What
// was removed is logged and recorded in the document's metadata under
// "otel.trimmed", so the span is never dropped for its size.
func (c converter) fit(seg *segment) ([]byte, error) {
	raw, err := c.marshal(seg)
	if err != nil || len(raw) <= maxDocumentBytes {
		return raw, err
	}
	original := len(raw)
	var removed []string
	// Room for the "otel.trimmed" note added at the end.
	budget := maxDocumentBytes - 2048
	steps := []func() bool{
		func() bool { return trimLargest(seg.Metadata["default"], "metadata.default.", &removed) },
		func() bool { return dropMetadataNamespace(seg, &removed) },
		func() bool { return trimLargest(seg.Annotations, "annotations.", &removed) },
		func() bool { return trimStacks(seg, &removed) },
		func() bool { return trimExceptions(seg, &removed) },
		func() bool {
			if seg.SQL == nil || utf8.RuneCountInString(seg.SQL.SanitizedQuery) <= 1024 {
				return false
			}
			seg.SQL.SanitizedQuery = truncate(seg.SQL.SanitizedQuery, 1024)
			removed = append(removed, "sql.sanitized_query (cut to 1024 characters)")
			return true
		},
		func() bool {
			if len(seg.Links) == 0 {
				return false
			}
			removed = append(removed, fmt.Sprintf("links (%d)", len(seg.Links)))
			seg.Links = nil
			return true
		},
	}
	for _, step := range steps {
		for len(raw) > budget && step() {
			if raw, err = c.marshal(seg); err != nil {
				return nil, err
			}
		}
	}
	if len(raw) <= budget {
		if seg.Metadata == nil {
			seg.Metadata = map[string]map[string]any{}
		}
		seg.Metadata["otel.trimmed"] = map[string]any{"removed": removed, "original_bytes": original}
		if withNote, err := c.marshal(seg); err == nil && len(withNote) <= maxDocumentBytes {
			raw = withNote
		} else {
			delete(seg.Metadata, "otel.trimmed")
		}
	}
	c.logger.Warn("X-Ray segment document over 64 KB: trimmed to fit",
		zap.String("trace_id", seg.TraceID), zap.String("segment_id", seg.ID),
		zap.String("name", seg.Name), zap.Int("original_bytes", original),
		zap.Int("bytes", len(raw)), zap.Strings("removed", removed))
	if len(raw) > maxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes after trimming, over X-Ray's %d", len(raw), maxDocumentBytes)
	}
	return raw, nil
}

// trimLargest removes the largest entry of m (by its JSON size).
func trimLargest(m map[string]any, prefix string, removed *[]string) bool {
	if len(m) == 0 {
		return false
	}
	keys := make([]string, 0, len(m))
	size := map[string]int{}
	for k, v := range m {
		b, _ := json.Marshal(v)
		keys = append(keys, k)
		size[k] = len(b) + len(k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if size[keys[i]] != size[keys[j]] {
			return size[keys[i]] > size[keys[j]]
		}
		return keys[i] < keys[j]
	})
	delete(m, keys[0])
	*removed = append(*removed, prefix+keys[0])
	return true
}

// dropMetadataNamespace removes a whole metadata namespace other than the
// already-trimmed "default" one.
func dropMetadataNamespace(seg *segment, removed *[]string) bool {
	for ns := range seg.Metadata {
		if ns != "default" || len(seg.Metadata[ns]) == 0 {
			delete(seg.Metadata, ns)
			*removed = append(*removed, "metadata."+ns)
			return true
		}
	}
	return false
}

// trimStacks halves the longest exception stack (innermost frames kept).
func trimStacks(seg *segment, removed *[]string) bool {
	if seg.Cause == nil {
		return false
	}
	longest := -1
	for i, ex := range seg.Cause.Exceptions {
		if len(ex.Stack) > 1 && (longest < 0 || len(ex.Stack) > len(seg.Cause.Exceptions[longest].Stack)) {
			longest = i
		}
	}
	if longest < 0 {
		return false
	}
	ex := &seg.Cause.Exceptions[longest]
	keep := len(ex.Stack) / 2
	ex.Truncated += len(ex.Stack) - keep
	ex.Stack = ex.Stack[:keep]
	*removed = append(*removed, fmt.Sprintf("cause.exceptions[%d].stack (kept %d frames)", longest, keep))
	return true
}

// trimExceptions drops the last chained exception, then cuts messages.
func trimExceptions(seg *segment, removed *[]string) bool {
	if seg.Cause == nil {
		return false
	}
	exs := seg.Cause.Exceptions
	if len(exs) > 1 {
		seg.Cause.Exceptions = exs[:len(exs)-1]
		seg.Cause.Exceptions[len(exs)-2].Cause = ""
		*removed = append(*removed, fmt.Sprintf("cause.exceptions[%d]", len(exs)-1))
		return true
	}
	if len(exs) == 1 && (utf8.RuneCountInString(exs[0].Message) > 1024 || len(exs[0].Stack) > 0) {
		exs[0].Message = truncate(exs[0].Message, 1024)
		exs[0].Truncated += len(exs[0].Stack)
		exs[0].Stack = nil
		*removed = append(*removed, "cause.exceptions[0] (message cut, stack dropped)")
		return true
	}
	return false
}
