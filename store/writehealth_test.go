package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A write refused by another process's lock shows in WriteHealth, with its
// cause, until a write works again; reads go on meanwhile.
func TestWriteHealthUnderLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	s, err := Open(context.Background(), path+"?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateFirstUser(ctx, "a@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	if h := s.WriteHealth(); h.LastOK.IsZero() || !h.FailingSince.IsZero() || h.Err != nil || !h.BusySince.IsZero() {
		t.Fatalf("after a good write: %+v", h)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "k", "v"); err == nil {
		t.Fatal("a write went through another's lock")
	}
	h := s.WriteHealth()
	if h.FailingSince.IsZero() || !errors.Is(h.Err, ErrLocked) {
		t.Fatalf("under the lock: %+v", h)
	}
	if err := s.PingRead(ctx); err != nil {
		t.Errorf("reads under the lock: %v", err)
	}
	tx.Rollback()
	if err := s.SetSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if h := s.WriteHealth(); !h.FailingSince.IsZero() || h.Err != nil {
		t.Errorf("after the lock: %+v", h)
	}
}

// The spool keeps batches across a restart, drops a line a crash cut
// short, and disappears when rewritten empty; early alerts keep their
// attempts through it.
func TestSpool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-spool")
	sp := OpenSpool(path)
	if bs, err := sp.Load(); err != nil || len(bs) != 0 {
		t.Fatalf("empty spool: %v %v", bs, err)
	}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	early := NewEarlyAlert()
	early.Record(7, DeliveryAttempt{At: at, OK: true, Duration: 12 * time.Millisecond})
	early.Finish()
	b1 := Batch{Checks: []Check{{MonitorID: 1, Region: "local", At: at, OK: false, Reason: "status", Error: "503", Latency: time.Millisecond}}}
	b2 := Batch{Updates: []StateUpdate{{MonitorID: 1, State: MonitorState{Status: StatusDown, Since: at},
		Transition: &Transition{MonitorID: 1, From: StatusUp, To: StatusDown, At: at, Alert: true, Early: early}}}}
	for _, b := range []Batch{b1, b2} {
		if err := sp.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	// A crash in the middle of a third line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"checks":[{"MonitorID":1`)
	f.Close()
	bs, err := OpenSpool(path).Load()
	if err != nil || len(bs) != 2 {
		t.Fatalf("load: %d batches, %v", len(bs), err)
	}
	if c := bs[0].Checks[0]; c.MonitorID != 1 || !c.At.Equal(at) || c.Error != "503" || c.Latency != time.Millisecond {
		t.Errorf("check back: %+v", c)
	}
	tr := bs[1].Updates[0].Transition
	if tr == nil || tr.To != StatusDown || !tr.Early.Finished() || !tr.Early.Attempts()[7].OK {
		t.Fatalf("transition back: %+v", tr)
	}
	if err := sp.Rewrite(bs[1:]); err != nil {
		t.Fatal(err)
	}
	if bs, _ := sp.Load(); len(bs) != 1 {
		t.Errorf("after rewrite: %d batches", len(bs))
	}
	if err := sp.Rewrite(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("empty spool left a file: %v", err)
	}
}
