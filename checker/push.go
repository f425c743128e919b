package checker

// PLACEHOLDER: replaced by the push type.
func pushType() Type { return Type{Name: TypePush, Label: "Push"} }
