package commands_test

import (
	"reflect"
	"testing"

	"github.com/wikimod/wikimod/commands"
)

// TestDumpBatchRowsFollowTheTables: each table a copy moves is a field of
// DumpBatch, named in DumpedTables, and counted by Rows, all in the same
// order, so that a table added to one is added to all three.
func TestDumpBatchRowsFollowTheTables(t *testing.T) {
	var b commands.DumpBatch
	v := reflect.ValueOf(&b).Elem()
	if v.NumField() != len(commands.DumpedTables) {
		t.Fatalf("DumpBatch has %d tables, DumpedTables names %d: %v", v.NumField(), len(commands.DumpedTables), commands.DumpedTables)
	}
	for i := range v.NumField() {
		f := v.Field(i)
		f.Set(reflect.MakeSlice(f.Type(), i+1, i+1))
	}
	rows := b.Rows()
	if len(rows) != v.NumField() {
		t.Fatalf("Rows counts %d tables, DumpBatch has %d", len(rows), v.NumField())
	}
	for i, n := range rows {
		if n != i+1 {
			t.Errorf("Rows()[%d] (%s) = %d, want the %d rows of DumpBatch.%s", i, commands.DumpedTables[i], n, i+1, v.Type().Field(i).Name)
		}
	}
}

// TestValidLanguageCode: MediaWiki's codes are well formed; anything else
// a person might type in their place is not.
func TestValidLanguageCode(t *testing.T) {
	for code, want := range map[string]bool{
		"en": true, "tr": true, "nan": true, "qqx": true, "zh-hans": true, "zh-hant": true, "be-tarask": true,
		"zh-min-nan": true, "de-formal": true, "en-x-piglatin": true, "ike-cans": true, "x2": true,
		"abcdefghijklmnopqrstuvwxyz-abcdefgh": true, // 35

		"": false, "e": false, "En": false, "zh-Hans": false, "zh_hans": false, "zh-CN": false, "pt-BR": false,
		"-tr": false, "tr-": false, "zh--hans": false, "1tr": false, " tr": false, "tr ": false, "türk": false,
		"de\n": false, "tr\x00": false, "abcdefghijklmnopqrstuvwxyz-abcdefghi": false, // 36
	} {
		if got := commands.ValidLanguageCode(code); got != want {
			t.Errorf("ValidLanguageCode(%q) = %v, want %v", code, got, want)
		}
	}
}
