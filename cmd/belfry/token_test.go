package main

import (
	"strings"
	"testing"
)

// TestTokenRefusesShortSecret: belfry token refuses a secret serve would
// refuse, from the flag or the environment, and mints with one it accepts.
func TestTokenRefusesShortSecret(t *testing.T) {
	short := strings.Repeat("s", minJWTSecretLen-1)
	for _, env := range []map[string]string{nil, {"BELFRY_JWT_SECRET": short}} {
		args := []string{"token", "--user", "alice"}
		if env == nil {
			args = append(args, "--secret", short)
		}
		code, out, errOut := runCmd(t, env, args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, "--secret must be at least 32 bytes") {
			t.Errorf("token with a %d-byte secret (env %v): exit %d, stdout %q, stderr %q", len(short), env, code, out, errOut)
		}
		if strings.Contains(errOut, short) {
			t.Errorf("the refusal shows the secret: %q", errOut)
		}
	}
	if code, out, errOut := runCmd(t, nil, "token", "--user", "alice", "--secret", short+"s"); code != exitOK || out == "" {
		t.Errorf("token with a %d-byte secret: exit %d, stderr %q", len(short)+1, code, errOut)
	}
}
