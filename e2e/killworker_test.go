package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

// A worker process killed with SIGKILL in the middle of a check loses
// nothing: the job it held is run again by another worker of the region
// once its timeout plus the margin has passed, and stored once.
func TestKilledWorkerProcess(t *testing.T) {
	rb := testredis.Real(t)
	var hangFirst atomic.Bool
	hangFirst.Store(true)
	release := make(chan struct{})
	var mu sync.Mutex
	var hungAt time.Time
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hangFirst.CompareAndSwap(true, false) {
			mu.Lock()
			hungAt = time.Now()
			mu.Unlock()
			select { // held until the worker running it is killed
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer target.Close()
	defer close(release)

	base := startServer(t, "WORKERS=0", "REGIONS=eu", "REDIS_URL="+rb.URL)
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(binary, "worker", "--region", "eu", "--workers", "4")
		cmd.Env = append(os.Environ(), "REDIS_URL="+rb.URL, "LOG_LEVEL=warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	a := startWorker()

	token := apiSignup(t, base)
	var m struct {
		ID int64 `json:"id"`
	}
	// A 30 s interval: the job is still worth running when it is
	// re-claimed 2 s + 5 s after it was taken. (With a shorter interval it
	// expires first and is counted as missed instead: see the checker's
	// tests.)
	apiCall(t, "POST", base+"/api/v1/monitors", token, map[string]any{"name": "t", "url": target.URL, "interval_seconds": 30, "timeout_seconds": 2}, &m)

	// Wait until worker a holds the hung check, then kill it outright.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		h := hungAt
		mu.Unlock()
		if !h.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first check never reached the target")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	b := startWorker()
	host, _ := os.Hostname()
	bName := fmt.Sprintf("worker-%s-%d", host, b.Process.Pid)
	defer func() { _ = b.Process.Signal(syscall.SIGTERM); _ = b.Wait() }()

	// The job a held is re-run by b (after its 2 s timeout + 5 s) and
	// stored once, labelled with its own slot.
	mu.Lock()
	slot := hungAt
	mu.Unlock()
	var checks struct {
		Items []struct {
			At     time.Time `json:"at"`
			OK     bool      `json:"ok"`
			Worker string    `json:"worker"`
			Region string    `json:"region"`
		} `json:"items"`
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		apiCall(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d/checks?limit=100", base, m.ID), token, nil, &checks)
		found, seen := 0, map[time.Time]int{}
		for _, c := range checks.Items {
			seen[c.At]++
			if c.At.Sub(slot).Abs() < time.Second && c.OK {
				found++
				if c.Worker != bName {
					t.Fatalf("the slot's check was stored by %q, want the new worker %q", c.Worker, bName)
				}
			}
		}
		for at, n := range seen {
			if n > 1 {
				t.Fatalf("check at %v stored %d times", at, n)
			}
		}
		if found == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed worker's check (slot %v) was never stored: %+v", slot, checks.Items)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func apiSignup(t *testing.T, base string) string {
	t.Helper()
	var out struct{ Token string }
	apiCall(t, "POST", base+"/api/v1/auth/signup", "", map[string]string{"email": "k@example.com", "password": "long enough"}, &out)
	if out.Token == "" {
		t.Fatal("signup gave no token")
	}
	return out.Token
}

func apiCall(t *testing.T, method, url, token string, body, out any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var b strings.Builder
		_, _ = fmt.Fprint(&b, res.Status)
		t.Fatalf("%s %s: %s", method, url, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
