package checker

// PLACEHOLDER: replaced by the dns prober.
func dnsType() Type { return Type{Name: TypeDNS, Label: "DNS", Remote: true} }
