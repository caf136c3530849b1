package otlphttpreceiver

import (
	"encoding/binary"
	"encoding/json"
)

// google.rpc.Status {int32 code = 1; string message = 2; repeated Any details = 3},
// the body of an OTLP/HTTP error response. Encoded here rather than with the
// gRPC status package: two fields do not need it.

func statusProto(code int32, message string) []byte {
	out := make([]byte, 0, len(message)+16)
	if code != 0 {
		out = append(out, 1<<3|0) // field 1, varint
		out = binary.AppendUvarint(out, uint64(code))
	}
	if message != "" {
		out = append(out, 2<<3|2) // field 2, length-delimited
		out = binary.AppendUvarint(out, uint64(len(message)))
		out = append(out, message...)
	}
	return out
}

func statusJSON(code int32, message string) []byte {
	out, _ := json.Marshal(struct {
		Code    int32  `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}{code, message})
	return out
}
