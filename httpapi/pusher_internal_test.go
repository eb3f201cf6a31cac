package httpapi

import "testing"

func TestPusherMessageOfType(t *testing.T) {
	for typ, want := range map[string]string{
		`App\Notifications\InvoicePaid`:     "Invoice paid",
		`App\Notifications\HTTPCheckFailed`: "HTTP check failed",
		"order.shipped":                     "Order shipped",
		"broadcast.user_signed-up":          "Broadcast user signed up",
		"Invoice2Paid":                      "Invoice2 paid",
		"":                                  "New notification",
		`App\`:                              "New notification",
		"élan":                              "Élan",
	} {
		if got := messageOfType(typ); got != want {
			t.Errorf("messageOfType(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestPusherStringToSign(t *testing.T) {
	got := pusherStringToSign("post", "/apps/3/events", map[string]string{
		"auth_version": "1.0", "auth_key": "k", "name": "Something else", "auth_signature": "x", "auth_timestamp": "1"})
	want := "POST\n/apps/3/events\nauth_key=k&auth_timestamp=1&auth_version=1.0&name=Something else"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
