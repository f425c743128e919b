package checker

import (
	"encoding/json"
	"time"
)

// PLACEHOLDER: replaced by the push type.
func pushType() Type { return Type{Name: TypePush, Label: "Push"} }

// PLACEHOLDER schedule until the real one lands.
type pushSchedule struct{ period, g time.Duration }

func parsePushSchedule(raw json.RawMessage) (pushSchedule, error) {
	var s struct {
		Period int `json:"period_seconds"`
		Grace  int `json:"grace_seconds"`
	}
	err := json.Unmarshal(raw, &s)
	return pushSchedule{time.Duration(s.Period) * time.Second, time.Duration(s.Grace) * time.Second}, err
}
func (p pushSchedule) deadline(last time.Time) time.Time { return last.Add(p.period + p.g) }
func (p pushSchedule) nextLate(t time.Time) time.Time    { return t.Add(p.period) }
func (p pushSchedule) grace() time.Duration              { return p.g }
