package nodeimage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// importMessage is one JSON message of the engine's /images/create stream.
type importMessage struct {
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readImportResult reads the engine's import response stream and returns
// the new image ID (the last "sha256:..." status), or the error the engine
// reported in the stream.
func readImportResult(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	var id string
	for {
		var m importMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read import response: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return "", fmt.Errorf("import image: %s", m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return "", fmt.Errorf("import image: %s", m.Error)
		}
		if s := strings.TrimSpace(m.Status); strings.HasPrefix(s, "sha256:") {
			id = s
		}
	}
	if id == "" {
		return "", errors.New("import image: the engine reported no image ID")
	}
	return id, nil
}
