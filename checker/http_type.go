package checker

import "github.com/upwatch/upwatch/reason"

func httpType() Type {
	return Type{
		Name:      TypeHTTP,
		Label:     "HTTP(S)",
		Help:      "A web page or API answers with an accepted status.",
		Reasons:   []string{reason.Timeout, reason.DNS, reason.Refused, reason.TLS, reason.Status, reason.Redirects, reason.Error},
		Remote:    true,
		newProber: func(env ProbeEnv) Prober { return NewHTTPProber(env.HTTP) },
	}
}
