package nodeimage

import (
	"strings"
	"testing"
)

func TestReadImportResult(t *testing.T) {
	id, err := readImportResult(strings.NewReader(`{"status":"sha256:8fa32265c9f1"}` + "\r\n"))
	if err != nil || id != "sha256:8fa32265c9f1" {
		t.Errorf("readImportResult = %q, %v", id, err)
	}
	_, err = readImportResult(strings.NewReader(`{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}`))
	if err == nil || !strings.Contains(err.Error(), "invalid tar header") {
		t.Errorf("stream error: got %v", err)
	}
	if _, err := readImportResult(strings.NewReader("")); err == nil {
		t.Errorf("empty stream: want an error")
	}
	if _, err := readImportResult(strings.NewReader("{not json")); err == nil {
		t.Errorf("garbage: want an error")
	}
}

func TestImportChanges(t *testing.T) {
	got := importChanges(Recipe(), "abc")
	want := []string{
		"ENV LANG=C.UTF-8",
		"ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LABEL replab.image=node replab.recipe=abc replab.pgtemplate=/usr/share/replab/pgdata-15.tar.gz",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("importChanges = %q, want %q", got, want)
	}
}
