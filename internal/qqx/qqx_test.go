package qqx

import (
	"slices"
	"testing"
)

func TestEnglish(t *testing.T) {
	cases := []struct {
		text  string
		given []string
		want  []string
	}{
		{"(wikimod-protect-changed-title: Qqx Page)", []string{"Qqx Page"}, nil},
		{"(wikimod-with-code: (protect-level-sysop), sysop)", nil, nil},
		{"(wikimod-a: `/protect TITLE edit=sysop`)\n  (wikimod-b): <t:1700000000:R> <@U1> https://w.example/wiki/X", nil, nil},
		{"Protection of Qqx Page changed.", []string{"Qqx Page"}, []string{"Protection", "of", "changed"}},
		{"(wikimod-title: X) Done.", []string{"X"}, []string{"Done"}},
		{"(apierror-protect-invalidlevel: foo)", nil, []string{"foo"}},
		{"(wikimod-outcome-invalid-title): Lang Page", []string{"title", "Lang Page"}, nil},
	}
	for _, tc := range cases {
		if got := English(tc.text, tc.given...); !slices.Equal(got, tc.want) {
			t.Errorf("English(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
