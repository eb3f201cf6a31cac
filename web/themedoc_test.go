package web_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestThemeDocsMatchCode: every --belfry-* custom property documented in
// docs/web-component.md has the default the stylesheet (THEME and LAYOUT
// in belfry-ui.js) gives it, and every property of the code is
// documented.
func TestThemeDocsMatchCode(t *testing.T) {
	js, err := os.ReadFile("static/belfry-ui.js")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile("../docs/web-component.md")
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]string{} // name → "light|dark" or "default"
	section := func(name string) string {
		s := string(js)
		i := strings.Index(s, "export const "+name+" = [")
		if i < 0 {
			t.Fatalf("belfry-ui.js has no %s", name)
		}
		s = s[i:]
		return s[:strings.Index(s, "\n];")]
	}
	str := `(?:"([^"]*)"|` + "`([^`]*)`" + `)`
	pick := func(m []string, i int) string { return m[i] + m[i+1] }
	for _, m := range regexp.MustCompile(`\["([a-z-]+)",\s*`+str+`,\s*`+str+`\]`).FindAllStringSubmatch(section("THEME"), -1) {
		code[m[1]] = pick(m, 2) + " | " + pick(m, 4)
	}
	for _, m := range regexp.MustCompile(`\["([a-z-]+)",\s*`+str+`\]`).FindAllStringSubmatch(section("LAYOUT"), -1) {
		code[m[1]] = pick(m, 2)
	}
	if len(code) < 20 {
		t.Fatalf("read %d properties from belfry-ui.js: %v", len(code), code)
	}
	docs := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `--belfry-([a-z-]+)` \\| `([^`]*)` \\|(?: `([^`]*)` \\|)?$").FindAllStringSubmatch(string(md), -1) {
		v := m[2]
		if m[3] != "" {
			v += " | " + m[3]
		}
		docs[m[1]] = v
	}
	for name, want := range code {
		if got, ok := docs[name]; !ok {
			t.Errorf("--belfry-%s is not in docs/web-component.md's tables", name)
		} else if got != want {
			t.Errorf("--belfry-%s: the docs say %q, the code %q", name, got, want)
		}
	}
	for name := range docs {
		if _, ok := code[name]; !ok {
			t.Errorf("docs/web-component.md documents --belfry-%s, which the code does not have", name)
		}
	}
}
