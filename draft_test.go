package belfry

import (
	"strings"
	"testing"
	"time"
)

func TestDraftRefusesBadInboxFields(t *testing.T) {
	ok := func() Draft { return Draft{UserIDs: []string{"u"}, Message: "m"} }
	long := strings.Repeat("x", 65)
	for name, change := range map[string]func(*Draft){
		"four actions": func(d *Draft) {
			d.Actions = []Action{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}, {ID: "c", Label: "C"}, {ID: "d", Label: "D"}}
		},
		"empty action id":     func(d *Draft) { d.Actions = []Action{{ID: "", Label: "A"}} },
		"long action id":      func(d *Draft) { d.Actions = []Action{{ID: long, Label: "A"}} },
		"padded action id":    func(d *Draft) { d.Actions = []Action{{ID: " a", Label: "A"}} },
		"empty label":         func(d *Draft) { d.Actions = []Action{{ID: "a", Label: " "}} },
		"long label":          func(d *Draft) { d.Actions = []Action{{ID: "a", Label: long}} },
		"duplicate action id": func(d *Draft) { d.Actions = []Action{{ID: "a", Label: "A"}, {ID: "a", Label: "B"}} },
		"javascript action":   func(d *Draft) { d.Actions = []Action{{ID: "a", Label: "A", URL: "javascript:alert(1)"}} },
		"data avatar":         func(d *Draft) { d.Avatar = "data:image/png;base64,AAAA" },
		"protocol-relative":   func(d *Draft) { d.Avatar = "//evil.example/a.png" },
		"ttl and expires_at": func(d *Draft) {
			at := time.Now().Add(time.Hour)
			d.ExpiresAt, d.TTL = &at, time.Minute
		},
		"negative ttl":  func(d *Draft) { d.TTL = -time.Second },
		"ttl too large": func(d *Draft) { d.TTL = MaxTTL + time.Second },
	} {
		d := ok()
		change(&d)
		if err := d.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: Validate() = %v, want %s", name, err, EINVALID)
		}
	}
	d := ok()
	d.Actions = []Action{{ID: "approve", Label: "Approve", URL: "/approve/1"}, {ID: "later", Label: "Später 🔔"}}
	d.Avatar = "https://cdn.example.com/a.png"
	if err := d.Validate(); err != nil {
		t.Fatalf("a good draft: %v", err)
	}
}

func TestDraftExpiry(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	past := now.Add(-time.Millisecond)
	d := Draft{ExpiresAt: &past}
	if err := d.expiry(now); ErrorCode(err) != EINVALID {
		t.Errorf("expires_at in the past: %v, want %s", err, EINVALID)
	}
	d = Draft{ExpiresAt: &now}
	if err := d.expiry(now); ErrorCode(err) != EINVALID {
		t.Errorf("expires_at now: %v, want %s", err, EINVALID)
	}
	d = Draft{TTL: 90 * time.Second}
	if err := d.expiry(now); err != nil || d.ExpiresAt == nil || !d.ExpiresAt.Equal(now.Add(90*time.Second)) || d.TTL != 0 {
		t.Errorf("ttl 90s: err %v, expires %v, ttl %v", err, d.ExpiresAt, d.TTL)
	}
	far := now.Add(MaxTTL + time.Hour)
	d = Draft{ExpiresAt: &far}
	if err := d.expiry(now); ErrorCode(err) != EINVALID {
		t.Errorf("expires_at beyond MaxTTL: %v, want %s", err, EINVALID)
	}
}
