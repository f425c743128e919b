package views

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// DeviceLabel names the browser and system of a User-Agent for people,
// e.g. "Firefox on Linux"; "Unknown device" when it says nothing useful.
func DeviceLabel(ua string) string {
	l := strings.ToLower(ua)
	browser := ""
	switch {
	case strings.Contains(l, "edg/"):
		browser = "Edge"
	case strings.Contains(l, "opr/") || strings.Contains(l, "opera"):
		browser = "Opera"
	case strings.Contains(l, "firefox/"):
		browser = "Firefox"
	case strings.Contains(l, "chromium/"):
		browser = "Chromium"
	case strings.Contains(l, "chrome/") || strings.Contains(l, "crios/"):
		browser = "Chrome"
	case strings.Contains(l, "safari/"):
		browser = "Safari"
	case strings.HasPrefix(l, "curl/"):
		browser = "curl"
	}
	system := ""
	switch {
	case strings.Contains(l, "iphone") || strings.Contains(l, "ipad"):
		system = "iOS"
	case strings.Contains(l, "android"):
		system = "Android"
	case strings.Contains(l, "windows"):
		system = "Windows"
	case strings.Contains(l, "mac os") || strings.Contains(l, "macintosh"):
		system = "macOS"
	case strings.Contains(l, "cros"):
		system = "ChromeOS"
	case strings.Contains(l, "linux"):
		system = "Linux"
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return system
	}
	return "Unknown device"
}

// sessionRevokeURL is the revoke action of a session.
func sessionRevokeURL(id string) templ.SafeURL {
	return templ.SafeURL("/settings/sessions/" + url.PathEscape(id) + "/revoke")
}

// tokenRevokeURL is the revoke action of an API token.
func tokenRevokeURL(id int64) templ.SafeURL {
	return templ.SafeURL("/settings/tokens/" + strconv.FormatInt(id, 10) + "/revoke")
}

// userURL is an admin action on a user, e.g. "disable" or "password".
func userURL(id int64, action string) templ.SafeURL {
	return templ.SafeURL("/settings/users/" + strconv.FormatInt(id, 10) + "/" + action)
}

// disableValue is the hidden "disabled" value the disable/enable button
// posts: the opposite of the current state.
func disableValue(disabled bool) string {
	if disabled {
		return "false"
	}
	return "true"
}

// resetID is the id of a user's reset-password field.
func resetID(id int64) string { return "reset-password-" + strconv.FormatInt(id, 10) }

// expiresText says when something expires, "Never expires" for zero.
func expiresText(now, t time.Time) string {
	if t.IsZero() {
		return "Never expires"
	}
	if t.Before(now) {
		return "Expired " + RelTime(now, t)
	}
	return "Expires " + RelTime(now, t)
}

func roleID(id int64) string { return "role-" + strconv.FormatInt(id, 10) }

// roleOptions are the roles in the order forms offer them.
var roleOptions = []string{"member", "viewer", "admin"}

func roleLabel(r string) string {
	switch r {
	case "admin":
		return "Admin"
	case "viewer":
		return "Viewer"
	}
	return "Member"
}

// newUserRole is the add-user form's role: as submitted, else member.
func newUserRole(s SettingsPage) string {
	switch {
	case s.NewUserRole != "":
		return s.NewUserRole
	case s.NewUserAdmin:
		return "admin"
	}
	return "member"
}
