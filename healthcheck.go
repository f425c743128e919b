package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// healthcheckCmd asks a running server's /healthz and exits non-zero
// unless it answers 200, printing what is wrong: a container's
// HEALTHCHECK or a service manager's watchdog needs no curl.
func healthcheckCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	target := fs.String("url", "", "the server's /healthz URL (default http://HOST:PORT/healthz, on loopback when HOST is empty)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	cfg, _, err := parseConfig(fs, args, getenv, sHost, sPort, sLogLevel)
	if err != nil {
		return err
	}
	u := *target
	if u == "" {
		host := cfg.Host
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		u = "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: the server does not answer at %s: %w", u, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status   string `json:"status"`
		Problems []struct {
			Code, Message string
		} `json:"problems"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("healthcheck: %s answered %s, not upwatch's health report", u, resp.Status)
	}
	if resp.StatusCode == http.StatusOK {
		fmt.Fprintln(stdout, "healthy")
		return nil
	}
	for _, p := range body.Problems {
		fmt.Fprintf(stdout, "%s: %s\n", p.Code, p.Message)
	}
	return errors.New("healthcheck: " + body.Status + " (" + resp.Status + ")")
}
