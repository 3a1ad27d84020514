package notice_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/storage"
)

// channel is a notice channel that keeps what it was sent, or refuses it.
type channel struct {
	got  []commands.Reply
	fail error
	wait bool // wait for the send's time limit
}

func (c *channel) notify(ctx context.Context, r commands.Reply) error {
	if c.wait {
		<-ctx.Done()
		return ctx.Err()
	}
	if c.fail != nil {
		return c.fail
	}
	c.got = append(c.got, r)
	return nil
}

// TestPostReachesEachChannelOnce: a channel that has the message is not
// posted to again but counts as reached, in the channels' order; a channel
// that refuses it, or does not answer in time, is failed with what went
// wrong; with no channel, the post fails as "none".
func TestPostReachesEachChannelOnce(t *testing.T) {
	a, b, c, d := &channel{}, &channel{}, &channel{fail: errors.New("slack: channel_not_found")}, &channel{wait: true}
	chans := []notice.Channel{{Name: "a", Notify: a.notify}, {Name: "b", Notify: b.notify}, {Name: "c", Notify: c.notify}, {Name: "d", Notify: d.notify}}
	msg := commands.Reply{Title: i18n.Raw("hello")}
	s := notice.Post(context.Background(), chans, msg, 50*time.Millisecond, func(name string) bool { return name == "b" })
	if len(a.got) != 1 || len(b.got) != 0 {
		t.Errorf("a got %d, b (which had it) %d", len(a.got), len(b.got))
	}
	if strings.Join(s.Reached, ",") != "a,b" || strings.Join(s.Posted, ",") != "a" || strings.Join(s.Failed, ",") != "c,d" {
		t.Errorf("reached %v, posted %v, failed %v", s.Reached, s.Posted, s.Failed)
	}
	if p := s.Problem(); p != "c: slack: channel_not_found; d: timed out: context deadline exceeded" {
		t.Errorf("problem %q", p)
	}
	none := notice.Post(context.Background(), nil, msg, time.Second, func(string) bool { return false })
	if !slices.Equal(none.Failed, []string{"none"}) || none.Problem() != "no notice channel is configured" || len(none.Reached) != 0 {
		t.Errorf("no channel: %+v", none)
	}
}

// TestAuditRecordsTheOutcome: the audit log holds the post as settle left
// it, and what settle does comes between its beginning and its end.
func TestAuditRecordsTheOutcome(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	rec := notice.Record(now, "en", "alerts", "alert-send", []string{"slack", "discord"}, map[string]string{"alert": "7"})
	var began bool
	notice.Audit(ctx, db, slog.New(slog.DiscardHandler), rec, func() {
		began = rec.ID != 0
		rec.Outcome, rec.Code = commands.OutcomeFailed, "send-failed"
	})
	if !began {
		t.Error("settle ran before the record began")
	}
	got, err := db.Audit(ctx, storage.AuditFilter{Command: "alert-send"})
	if err != nil || len(got) != 1 {
		t.Fatalf("%d records, %v", len(got), err)
	}
	r := got[0]
	if r.Platform != "system" || r.UserID != "alerts" || r.UserName != "wikimod alerts" || r.Channel != "slack,discord" ||
		r.Wiki != "en" || r.Args["alert"] != "7" || r.Outcome != commands.OutcomeFailed || r.Code != "send-failed" {
		t.Errorf("audited %+v", r)
	}
}

// TestRequestWiki: a request is for the wiki the service chose, or the
// only one; one the caller does not know is named.
func TestRequestWiki(t *testing.T) {
	one := map[string]int{"en": 1}
	two := map[string]int{"en": 1, "de": 2}
	for _, c := range []struct {
		wiki   *commands.Wiki
		byName map[string]int
		want   int
		name   string
		ok     bool
	}{
		{nil, one, 1, "en", true},
		{nil, two, 0, "", false},
		{&commands.Wiki{Name: "de"}, two, 2, "de", true},
		{&commands.Wiki{Name: "fr"}, two, 0, "fr", false},
		{&commands.Wiki{Name: "fr"}, one, 0, "fr", false},
	} {
		w, name, ok := notice.RequestWiki(&commands.Request{Wiki: c.wiki}, c.byName)
		if w != c.want || name != c.name || ok != c.ok {
			t.Errorf("%v on %v: %d, %q, %v; want %d, %q, %v", c.wiki, c.byName, w, name, ok, c.want, c.name, c.ok)
		}
	}
}

// TestReadPress: a press names what to do, one of those offered, and a
// row by its number, and nothing positional; each mistake has its own
// refusal.
func TestReadPress(t *testing.T) {
	words := notice.PressWords{
		Positional: i18n.Raw("positional"),
		BadID:      func(text string) i18n.Message { return i18n.Raw("bad id " + text) },
		BadDo:      func(do string) i18n.Message { return i18n.Raw("bad do " + do) },
	}
	for _, c := range []struct {
		line, do string
		id       int64
		refusal  string
	}{
		{"/x do=dismiss id=12", "dismiss", 12, ""},
		{`/x do=extend id=" 3 "`, "extend", 3, ""},
		{"/x do=dismiss id=12 now", "", 0, "positional"},
		{"/x do=dismiss id=first", "", 0, "bad id first"},
		{"/x do=dismiss id=0", "", 0, "bad id 0"},
		{"/x do=undo id=1", "", 0, "bad do undo"},
	} {
		_, args, err := commands.ParseLine(c.line)
		if err != nil {
			t.Fatal(err)
		}
		do, id, err := notice.ReadPress(&commands.Request{Args: args}, []string{"extend", "dismiss"}, words)
		var e *commands.Error
		switch {
		case c.refusal == "" && (err != nil || do != c.do || id != c.id):
			t.Errorf("%s: %q, %d, %v", c.line, do, id, err)
		case c.refusal != "" && (!errors.As(err, &e) || e.Code != "usage" || e.Message.String() != c.refusal):
			t.Errorf("%s: %v, want the refusal %q", c.line, err, c.refusal)
		}
	}
}
