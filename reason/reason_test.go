package reason

import "testing"

func TestLabels(t *testing.T) {
	for code, label := range Codes() {
		if label == "" || label == code {
			t.Errorf("code %q has no human label", code)
		}
	}
	if Label("timeout") != "Timed out" || Label("something-new") != "something-new" || Label("") != "" {
		t.Error("Label does not fall back to the code")
	}
}
