package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

// The server and two `upwatch worker` processes in regions eu and us, over
// a real redis-server: with quorum 2, one region failing is degraded, not
// down; both failing is down. The target fails per region: each worker
// names its region in its User-Agent.
func TestQuorumWithWorkerProcesses(t *testing.T) {
	rb := testredis.Real(t)
	var failing sync.Map // region → true
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, region := range []string{"eu", "us"} {
			if v, _ := failing.Load(region); v == true && strings.Contains(r.UserAgent(), "region "+region+")") {
				http.Error(w, "down from "+region, http.StatusServiceUnavailable)
				return
			}
		}
	}))
	defer target.Close()
	base := startServer(t, "WORKERS=0", "REGIONS=eu,us", "REDIS_URL="+rb.URL)
	for _, region := range []string{"eu", "us"} {
		cmd := exec.Command(binary, "worker", "--region", region, "--workers", "4")
		cmd.Env = append(os.Environ(), "REDIS_URL="+rb.URL, "LOG_LEVEL=warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	}
	token := apiSignup(t, base)
	var m struct {
		ID      int64    `json:"id"`
		Regions []string `json:"regions"`
		Quorum  int      `json:"quorum"`
	}
	apiCall(t, "POST", base+"/api/v1/monitors", token, map[string]any{"name": "t", "url": target.URL, "interval_seconds": 1, "confirmations": 1}, &m)
	if len(m.Regions) != 2 || m.Quorum != 2 {
		t.Fatalf("regions %v quorum %d", m.Regions, m.Quorum)
	}
	waitFor := func(want string) {
		t.Helper()
		var got struct{ Status string }
		deadline := time.Now().Add(15 * time.Second)
		for {
			apiCall(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", base, m.ID), token, nil, &got)
			if got.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status %q, want %q", got.Status, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("up")
	failing.Store("eu", true)
	waitFor("degraded")
	time.Sleep(2500 * time.Millisecond) // a few more checks from both
	var now struct{ Status string }
	apiCall(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", base, m.ID), token, nil, &now)
	if now.Status != "degraded" {
		t.Fatalf("one region of two failing: %s, want degraded", now.Status)
	}
	failing.Store("us", true)
	waitFor("down")
	failing.Store("eu", false)
	failing.Store("us", false)
	waitFor("up")
}
