package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/store"
)

// channelInput is a create or partial update of an alert channel.
type channelInput struct {
	Name     *string          `json:"name"`
	Type     *string          `json:"type"`
	Settings *json.RawMessage `json:"settings"`
	Enabled  *bool            `json:"enabled"`
	Default  *bool            `json:"default"`
}

type channelJSON struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Settings  json.RawMessage `json:"settings"` // secrets redacted
	Enabled   bool            `json:"enabled"`
	Default   bool            `json:"default"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func toChannelJSON(c store.Channel) channelJSON {
	red, err := notify.Redact(c.Type, c.Settings)
	if err != nil {
		red = json.RawMessage(`{}`) // never show what could not be redacted
	}
	return channelJSON{ID: c.ID, Name: c.Name, Type: c.Type, Settings: red, Enabled: c.Enabled, Default: c.Default,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

// notifyErrors turns the provider validator's errors into field errors of
// this API ("settings.<field>").
func notifyErrors(err error) error {
	var nfe notify.FieldErrors
	if !errors.As(err, &nfe) {
		var one *notify.FieldError
		if !errors.As(err, &one) {
			return err
		}
		nfe = notify.FieldErrors{one}
	}
	var fe FieldErrors
	for _, e := range nfe {
		field := "settings." + e.Field
		if e.Field == "type" || e.Field == "settings" {
			field = e.Field
		}
		fe = append(fe, FieldError{Field: field, Message: e.Message})
	}
	return fe
}

// applyChannel is the one validator for API and form: name, type and the
// provider's own settings (checked by building its sender; nothing is sent).
func applyChannel(c store.Channel, in channelInput, creating bool, opts notify.Options) (store.Channel, error) {
	var fe FieldErrors
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if n := utf8.RuneCountInString(c.Name); n == 0 {
		fe.add("name", "is required")
	} else if n > 100 {
		fe.add("name", "must be at most 100 characters")
	}
	if creating {
		if in.Type != nil {
			c.Type = *in.Type
		}
	} else if in.Type != nil && *in.Type != c.Type {
		fe.add("type", "cannot be changed; create a new channel")
	}
	if in.Settings != nil {
		settings := *in.Settings
		if !creating {
			merged, err := notify.MergeSecrets(c.Type, c.Settings, settings)
			var more FieldErrors
			if errors.As(notifyErrors(err), &more) {
				return c, append(fe, more...)
			} else if err != nil {
				return c, err
			}
			settings = merged
		}
		c.Settings = settings
	}
	if creating && c.Settings == nil {
		c.Settings = json.RawMessage(`{}`)
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	if in.Default != nil {
		c.Default = *in.Default
	}
	if _, err := notify.New(c.Type, c.Settings, opts); err != nil {
		var more FieldErrors
		if errors.As(notifyErrors(err), &more) {
			fe = append(fe, more...)
		} else {
			return c, err
		}
	}
	if len(fe) > 0 {
		return c, fe
	}
	return c, nil
}

func (a *App) apiCreateChannel(w http.ResponseWriter, r *http.Request) {
	var in channelInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := applyChannel(store.Channel{UserID: userFrom(r.Context()).ID, Enabled: true}, in, true, a.notifyOptions())
	if err == nil {
		c, err = a.st.CreateChannel(r.Context(), c)
		err = quotaFields(err)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/channels/"+itoa64(c.ID))
	writeJSON(w, http.StatusCreated, toChannelJSON(c))
}

func (a *App) ownedChannel(r *http.Request) (store.Channel, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Channel{}, err
	}
	c, err := a.st.GetChannel(r.Context(), userFrom(r.Context()).ID, id)
	return c, storeErr(err)
}

func (a *App) apiGetChannel(w http.ResponseWriter, r *http.Request) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toChannelJSON(c))
}

func (a *App) apiUpdateChannel(w http.ResponseWriter, r *http.Request) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in channelInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err = applyChannel(c, in, false, a.notifyOptions())
	if err == nil {
		c, err = a.st.UpdateChannel(r.Context(), c)
	}
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	writeJSON(w, http.StatusOK, toChannelJSON(c))
}

func (a *App) apiDeleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteChannel(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type testJSON struct {
	OK         bool    `json:"ok"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	DeliveryID int64   `json:"delivery_id"`
}

// testChannel sends a test message now and records it in the delivery log.
func (a *App) testChannel(ctx context.Context, userID, channelID int64) (testJSON, error) {
	ev, err := notify.EncodeEvent(notify.Event{Kind: notify.EventTest, At: a.now().UTC()})
	if err != nil {
		return testJSON{}, err
	}
	del, err := a.st.EnqueueTest(ctx, userID, channelID, ev)
	if err != nil {
		return testJSON{}, storeErr(err)
	}
	if a.alerts == nil {
		return testJSON{DeliveryID: del.ID, Error: "queued"}, nil
	}
	at := a.alerts.SendNow(ctx, del)
	return testJSON{OK: at.OK, Error: at.Error, DurationMS: ms(at.Duration), DeliveryID: del.ID}, nil
}

func (a *App) apiTestChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.testChannel(r.Context(), userFrom(r.Context()).ID, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type attemptJSON struct {
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	DurationMS float64   `json:"duration_ms"`
}

type deliveryJSON struct {
	ID        int64         `json:"id"`
	Kind      string        `json:"kind"`
	Status    string        `json:"status"`
	MonitorID int64         `json:"monitor_id,omitempty"`
	Monitor   string        `json:"monitor,omitempty"`
	Attempts  int           `json:"attempts"`
	CreatedAt time.Time     `json:"created_at"`
	SentAt    *time.Time    `json:"sent_at"`
	NextAt    *time.Time    `json:"next_attempt_at"`
	LastError string        `json:"last_error,omitempty"`
	Log       []attemptJSON `json:"log"`
}

// deliveryJSONs renders deliveries with their attempts.
func (a *App) deliveryJSONs(ctx context.Context, userID int64, list []store.Delivery) ([]deliveryJSON, error) {
	out := make([]deliveryJSON, len(list))
	for i, d := range list {
		j := deliveryJSON{ID: d.ID, Kind: d.Kind, Status: d.Status, MonitorID: d.MonitorID, Attempts: d.Attempts,
			CreatedAt: d.CreatedAt.UTC(), SentAt: optTime(d.SentAt), LastError: d.LastError, Log: []attemptJSON{}}
		if d.Status == store.DeliveryPending {
			j.NextAt = optTime(d.NextAttemptAt)
		}
		if ev, err := notify.DecodeEvent(d.Event); err == nil {
			j.Monitor = ev.Monitor
		}
		atts, err := a.st.DeliveryAttempts(ctx, userID, d.ID)
		if err != nil {
			return nil, err
		}
		for _, at := range atts {
			j.Log = append(j.Log, attemptJSON{At: at.At.UTC(), OK: at.OK, Error: at.Error, DurationMS: ms(at.Duration)})
		}
		out[i] = j
	}
	return out, nil
}

// apiChannelTypes describes every provider and its settings, for clients
// that build forms.
func (a *App) apiChannelTypes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"items": notify.Types()})
}

// notifyOptions are what senders are built with, so validation sees the
// same defaults (the server's mail sender) as delivery.
func (a *App) notifyOptions() notify.Options { return notify.Options{From: a.cfg.MailFrom} }
