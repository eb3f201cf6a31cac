package main

import (
	"strings"
	"testing"
)

func TestConvertKeepsOrderAndExpandsAliases(t *testing.T) {
	in := "b: 1\na: &x\n  z: [true, null, 1.5, \"2\"]\n  y: text\nc: *x\n"
	got, err := convert([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":1,"a":{"z":[true,null,1.5,"2"],"y":"text"},"c":{"z":[true,null,1.5,"2"],"y":"text"}}`
	if strings.Join(strings.Fields(string(got)), "") != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestConvertRefusesNonStringKeys(t *testing.T) {
	for _, in := range []string{"200: ok\n", "a: !custom x\n", "a: 1\n---\nb: 2\n"} {
		if _, err := convert([]byte(in)); err == nil {
			t.Errorf("%q: converted, want an error", in)
		}
	}
}
