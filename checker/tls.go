package checker

// PLACEHOLDER: replaced by the tls prober.
func tlsType() Type { return Type{Name: TypeTLS, Label: "TLS", Remote: true} }
