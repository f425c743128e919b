package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Batch is one write of the result sink: checks and the monitor states
// they led to, as SaveChecks takes them.
type Batch struct {
	Checks  []Check       `json:"checks,omitempty"`
	Updates []StateUpdate `json:"updates,omitempty"`
}

// Spool keeps batches the database could not take (a full disk, a lock
// held by another process) in a file beside it, so that results the sink
// has acknowledged survive a restart before the database takes them. The
// file holds one JSON batch per line and exists only while there are
// such batches. It is written by one goroutine (the sink); a locked
// database does not stop it, a full disk may.
type Spool struct {
	path string
	f    *os.File // open for appending while the file exists
}

// SpoolPath is where the spool of the database at dbPath lives.
func SpoolPath(dbPath string) string { return dbPath + "-spool" }

// OpenSpool returns the spool at path; the file is created by the first
// Append.
func OpenSpool(path string) *Spool { return &Spool{path: path} }

// Path is the spool file's path.
func (sp *Spool) Path() string { return sp.path }

// Load reads the batches a previous run left. A line cut short by a crash
// (the last one) is skipped: its batch was never acknowledged, so the
// queue still has its results where the queue outlives the process.
func (sp *Spool) Load() ([]Batch, error) {
	f, err := os.Open(sp.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: spool %s: %w", sp.path, err)
	}
	defer f.Close()
	var out []Batch
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var b Batch
			if jerr := json.Unmarshal(line, &b); jerr != nil {
				return out, fmt.Errorf("store: spool %s: batch %d: %w", sp.path, len(out)+1, jerr)
			}
			out = append(out, b)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("store: spool %s: %w", sp.path, err)
		}
	}
}

// Append adds one batch and syncs it to disk before returning.
func (sp *Spool) Append(b Batch) error {
	line, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	if sp.f == nil {
		f, err := os.OpenFile(sp.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("store: spool %s: %w", sp.path, err)
		}
		sp.f = f
	}
	if _, err := sp.f.Write(append(line, '\n')); err != nil {
		return sp.broken(err)
	}
	if err := sp.f.Sync(); err != nil {
		return sp.broken(err)
	}
	return nil
}

// broken closes the file after a failed write: a partial line may end it,
// so the next Append must not add to it. Rewrite starts it over.
func (sp *Spool) broken(err error) error {
	sp.f.Close()
	sp.f = nil
	return fmt.Errorf("store: spool %s: %w", sp.path, err)
}

// Rewrite replaces the spool's content with bs (nothing: the file is
// removed), through a new file renamed over the old one, so a crash leaves
// either the old batches or the new ones.
func (sp *Spool) Rewrite(bs []Batch) error {
	if sp.f != nil {
		sp.f.Close()
		sp.f = nil
	}
	if len(bs) == 0 {
		if err := os.Remove(sp.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: spool %s: %w", sp.path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(sp.path), filepath.Base(sp.path)+".*")
	if err != nil {
		return fmt.Errorf("store: spool %s: %w", sp.path, err)
	}
	w := bufio.NewWriterSize(tmp, 1<<16)
	enc := json.NewEncoder(w) // one batch a line
	for _, b := range bs {
		if err = enc.Encode(b); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), sp.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store: spool %s: %w", sp.path, err)
	}
	return nil
}

// Close closes the file, if open.
func (sp *Spool) Close() error {
	if sp.f == nil {
		return nil
	}
	err := sp.f.Close()
	sp.f = nil
	return err
}
