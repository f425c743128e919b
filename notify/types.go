package notify

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/upwatch/upwatch/settings"
)

// Field kinds: see the settings package.
const (
	KindText     = settings.KindText
	KindPassword = settings.KindPassword
	KindURL      = settings.KindURL
	KindNumber   = settings.KindNumber
	KindBool     = settings.KindBool
	KindSelect   = settings.KindSelect
	KindTextarea = settings.KindTextarea
	KindList     = settings.KindList
	KindMap      = settings.KindMap
)

// TypeInfo describes one channel type, for the dashboard to render its form
// without hard-coding providers.
type TypeInfo struct {
	Type   string      `json:"type"`
	Label  string      `json:"label"`
	Fields []FieldInfo `json:"fields"`
}

// FieldInfo describes one settings field.
type FieldInfo = settings.FieldInfo

// Types lists every channel type with its fields. The slice is new on every
// call: callers may change it.
func Types() []TypeInfo {
	defs := typeDefs()
	out := make([]TypeInfo, len(defs))
	for i, d := range defs {
		out[i] = d.info
	}
	return out
}

type typeDef struct {
	info  TypeInfo
	build func(settings json.RawMessage, opts Options) (Sender, error)
}

// typeDefs is the registry, built on each call so that no caller can alter
// it (no package-level mutable state).
func typeDefs() []typeDef {
	return []typeDef{
		{emailInfo(), newEmail},
		{slackInfo(), newSlack},
		{discordInfo(), newDiscord},
		{telegramInfo(), newTelegram},
		{ntfyInfo(), newNtfy},
		{gotifyInfo(), newGotify},
		{pushoverInfo(), newPushover},
		{teamsInfo(), newTeams},
		{webhookInfo(), newWebhook},
	}
}

func lookup(typ string) (typeDef, bool) {
	for _, d := range typeDefs() {
		if d.info.Type == typ {
			return d, true
		}
	}
	return typeDef{}, false
}

// decodeSettings checks settings against the type's field table and fills
// dst; provider-specific rules come after, in the provider's constructor.
func decodeSettings(info TypeInfo, raw json.RawMessage, dst any) FieldErrors {
	return settings.Decode(info.Fields, raw, dst)
}

// checkBaseURL is for server/API base URLs that paths are appended to: a
// query there would end up in the middle of the request URL.
func checkBaseURL(errs *FieldErrors, field, s string) {
	if u, err := url.Parse(s); err == nil && (u.RawQuery != "" || u.ForceQuery) {
		errs.Add(field, "must not contain a ?query")
	}
}

// joinURL appends a path to a base URL that may carry a path prefix.
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}

// parseObject reads settings as a JSON object (see settings.ParseObject).
func parseObject(raw json.RawMessage) (map[string]json.RawMessage, *FieldError) {
	return settings.ParseObject(raw)
}
