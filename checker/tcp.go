package checker

// PLACEHOLDER: replaced by the tcp prober.
func tcpType() Type { return Type{Name: TypeTCP, Label: "TCP", Remote: true} }
