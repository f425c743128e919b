package checker

// PLACEHOLDER: replaced by the ping prober.
func pingType() Type { return Type{Name: TypePing, Label: "PING", Remote: true} }
