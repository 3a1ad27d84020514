package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// LinkAttempt is a /link by mail attempt on the default wiki for the Slack
// user uid, whose code is code, salted with salt.
func LinkAttempt(uid, wikiUser, code string, salt []byte, expires time.Time) commands.LinkAttempt {
	sum := sha256.Sum256(append(append([]byte(nil), salt...), code...))
	return commands.LinkAttempt{Wiki: commands.DefaultWiki, Platform: "slack", UserID: uid, WikiUser: wikiUser,
		Method: commands.LinkByMail, Salt: salt, CodeHash: sum[:], Expires: expires}
}

func getLink(t *testing.T, db Store, platform, uid string) (commands.Link, bool) {
	t.Helper()
	l, ok, err := db.Link(context.Background(), commands.DefaultWiki, platform, uid)
	if err != nil {
		t.Fatal(err)
	}
	return l, ok
}

func getAttempt(t *testing.T, db Store, uid string) (commands.LinkAttempt, bool) {
	t.Helper()
	a, ok, err := db.LinkAttempt(context.Background(), commands.DefaultWiki, "slack", uid)
	if err != nil {
		t.Fatal(err)
	}
	return a, ok
}

// testLinkSaveReplaceDelete links a chat identity, relinks it to another
// account, and unlinks it; one account may be linked from two identities,
// and a link outlives a restart.
func testLinkSaveReplaceDelete(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	ctx := context.Background()

	if _, ok := getLink(t, db, "slack", "U1"); ok {
		t.Fatal("a link before any was saved")
	}
	paris := time.FixedZone("Paris", 3600)
	first := commands.Link{Wiki: commands.DefaultWiki, Platform: "slack", UserID: "U1", WikiUser: "Ann", Method: commands.LinkByMail,
		Linked: t0.In(paris).Add(time.Minute)}
	if err := db.SaveLink(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, ok := getLink(t, db, "slack", "U1")
	if !ok || got.WikiUser != "Ann" || got.Method != commands.LinkByMail || got.Platform != "slack" || got.UserID != "U1" ||
		got.Wiki != commands.DefaultWiki || !got.Linked.Equal(first.Linked) || got.Linked.Location() != time.UTC {
		t.Errorf("Link = %+v, %v; want %+v in UTC", got, ok, first)
	}

	// The same account from Discord: a second row, the first kept.
	if err := db.SaveLink(ctx, commands.Link{Wiki: commands.DefaultWiki, Platform: "discord", UserID: "U1", WikiUser: "Ann", Method: commands.LinkByPage}); err != nil {
		t.Fatal(err)
	}
	if got, ok := getLink(t, db, "discord", "U1"); !ok || got.WikiUser != "Ann" || !got.Linked.Equal(t0) {
		t.Errorf("discord Link = %+v, %v; want Ann linked at the clock's now", got, ok)
	}

	clock.Add(time.Hour)
	if err := db.SaveLink(ctx, commands.Link{Wiki: commands.DefaultWiki, Platform: "slack", UserID: "U1", WikiUser: "Bob", Method: commands.LinkByPage}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getLink(t, db, "slack", "U1"); got.WikiUser != "Bob" || got.Method != commands.LinkByPage || !got.Linked.Equal(t0.Add(time.Hour)) {
		t.Errorf("after relinking: %+v, want Bob by page at %v", got, t0.Add(time.Hour))
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(clock.Now)
	if got, ok := getLink(t, db, "slack", "U1"); !ok || got.WikiUser != "Bob" {
		t.Errorf("after a restart: %+v, %v", got, ok)
	}
	for _, want := range []bool{true, false} {
		if had, err := db.DeleteLink(ctx, commands.DefaultWiki, "slack", "U1"); err != nil || had != want {
			t.Errorf("DeleteLink = %v, %v; want %v", had, err, want)
		}
	}
	if _, ok := getLink(t, db, "slack", "U1"); ok {
		t.Error("the link outlived DeleteLink")
	}
	if _, ok := getLink(t, db, "discord", "U1"); !ok {
		t.Error("deleting the slack link deleted the discord one")
	}
}

func testLinkRejectsEmptyNames(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	for _, l := range []commands.Link{
		{Wiki: "en", UserID: "U1", WikiUser: "Ann"},
		{Wiki: "en", Platform: "slack", WikiUser: "Ann"},
		{Wiki: "en", Platform: "slack", UserID: "U1"},
		{Platform: "slack", UserID: "U1", WikiUser: "Ann"},
	} {
		if err := db.SaveLink(ctx, l); err == nil {
			t.Errorf("SaveLink(%+v) succeeded", l)
		}
	}
	for name, change := range map[string]func(a *commands.LinkAttempt){
		"salt":      func(a *commands.LinkAttempt) { a.Salt = nil },
		"code hash": func(a *commands.LinkAttempt) { a.CodeHash = nil },
		"wiki":      func(a *commands.LinkAttempt) { a.Wiki = "" },
		"platform":  func(a *commands.LinkAttempt) { a.Platform = "" },
		"user":      func(a *commands.LinkAttempt) { a.UserID = "" },
		"wiki user": func(a *commands.LinkAttempt) { a.WikiUser = "" },
		"base":      func(a *commands.LinkAttempt) { a.BaseRevision = -1 },
	} {
		a := LinkAttempt("U1", "Ann", "123456", []byte("salt"), t0)
		change(&a)
		if err := db.SaveLinkAttempt(ctx, a); err == nil {
			t.Errorf("SaveLinkAttempt without a (valid) %s succeeded", name)
		}
	}
	if _, ok := getAttempt(t, db, "U1"); ok {
		t.Error("a refused attempt was stored")
	}
}

// testLinkAttemptReplaceResetsTries checks that an attempt's salt and hash
// come back byte for byte, and that a new attempt replaces the old one and
// starts with no wrong codes, whatever Tries it was given.
func testLinkAttemptReplaceResetsTries(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	if _, ok := getAttempt(t, db, "U1"); ok {
		t.Fatal("an attempt before any was saved")
	}
	// Bytes that are not valid UTF-8 and hold a NUL: stored as text, they
	// would not come back the same.
	salt := []byte{0x00, 0xff, 0xfe, 0x80, 0x01, 0x00, 0x7f, 0xc3}
	first := LinkAttempt("U1", "Ann", "111111", salt, t0.In(time.FixedZone("x", -7200)).Add(10*time.Minute))
	first.Tries = 2
	first.BaseRevision = 1 << 40
	if err := db.SaveLinkAttempt(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, ok := getAttempt(t, db, "U1")
	if !ok || got.WikiUser != "Ann" || got.Method != commands.LinkByMail || got.Tries != 0 || got.Wiki != commands.DefaultWiki || got.BaseRevision != 1<<40 ||
		!bytes.Equal(got.Salt, salt) || !bytes.Equal(got.CodeHash, first.CodeHash) ||
		!got.Expires.Equal(first.Expires) || got.Expires.Location() != time.UTC {
		t.Fatalf("LinkAttempt = %+v, %v; want %+v in UTC with no tries", got, ok, first)
	}
	for range 3 {
		if _, err := db.AddWrongCode(ctx, commands.DefaultWiki, "slack", "U1"); err != nil {
			t.Fatal(err)
		}
	}

	second := LinkAttempt("U1", "Bob", "222222", []byte("another salt"), t0.Add(20*time.Minute))
	second.Method, second.Tries = commands.LinkByPage, 4
	if err := db.SaveLinkAttempt(ctx, second); err != nil {
		t.Fatal(err)
	}
	got, _ = getAttempt(t, db, "U1")
	if got.WikiUser != "Bob" || got.Method != commands.LinkByPage || got.Tries != 0 || got.BaseRevision != 0 ||
		!bytes.Equal(got.Salt, second.Salt) || !bytes.Equal(got.CodeHash, second.CodeHash) || !got.Expires.Equal(second.Expires) {
		t.Errorf("after replacing: %+v, want %+v with no tries", got, second)
	}

	if err := db.DeleteLinkAttempt(ctx, commands.DefaultWiki, "slack", "U1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := getAttempt(t, db, "U1"); ok {
		t.Error("the attempt outlived DeleteLinkAttempt")
	}
	if err := db.DeleteLinkAttempt(ctx, commands.DefaultWiki, "slack", "U1"); err != nil {
		t.Errorf("deleting no attempt: %v", err)
	}
}

// testAddWrongCodeCounts counts wrong codes one by one, and at once from
// many goroutines through two handles, where each must count.
func testAddWrongCodeCounts(t *testing.T, open Opener) {
	dbs := []Store{open(fixed(t0)), open(fixed(t0))}
	db := dbs[0]
	ctx := context.Background()
	if n, err := db.AddWrongCode(ctx, commands.DefaultWiki, "slack", "U1"); err != nil || n != 0 {
		t.Errorf("AddWrongCode with no attempt = %d, %v; want 0", n, err)
	}
	if _, ok := getAttempt(t, db, "U1"); ok {
		t.Error("AddWrongCode with no attempt made one")
	}
	if err := db.SaveLinkAttempt(ctx, LinkAttempt("U1", "Ann", "123456", []byte("s"), t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 5; want++ {
		if n, err := db.AddWrongCode(ctx, commands.DefaultWiki, "slack", "U1"); err != nil || n != want {
			t.Fatalf("wrong code %d: AddWrongCode = %d, %v", want, n, err)
		}
	}
	if a, _ := getAttempt(t, db, "U1"); a.Tries != 5 {
		t.Errorf("LinkAttempt.Tries = %d, want 5", a.Tries)
	}
	if n, _ := db.AddWrongCode(ctx, commands.DefaultWiki, "slack", "U2"); n != 0 {
		t.Errorf("another user's AddWrongCode = %d, want 0", n)
	}

	const goroutines, each = 8, 10
	seen := make(chan int, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				n, err := dbs[g%2].AddWrongCode(ctx, commands.DefaultWiki, "slack", "U1")
				if err != nil {
					t.Error(err)
					return
				}
				seen <- n
			}
		})
	}
	wg.Wait()
	close(seen)
	counts := map[int]bool{}
	for n := range seen {
		if counts[n] {
			t.Errorf("two calls both returned %d", n)
		}
		counts[n] = true
	}
	if a, _ := getAttempt(t, db, "U1"); a.Tries != 5+goroutines*each || len(counts) != goroutines*each {
		t.Errorf("after %d concurrent wrong codes: tries %d, %d distinct counts", goroutines*each, a.Tries, len(counts))
	}
}

// testPruneLinkAttempts deletes the attempts expired before the given time
// and only those.
func testPruneLinkAttempts(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	for uid, expires := range map[string]time.Time{
		"old":   t0.Add(-time.Hour),
		"just":  t0.Add(-time.Millisecond),
		"now":   t0,
		"later": t0.Add(time.Minute),
	} {
		if err := db.SaveLinkAttempt(ctx, LinkAttempt(uid, "Ann", "123456", []byte("s"), expires)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.PruneLinkAttempts(ctx, t0); err != nil || n != 2 {
		t.Errorf("PruneLinkAttempts = %d, %v; want 2", n, err)
	}
	for uid, want := range map[string]bool{"old": false, "just": false, "now": true, "later": true} {
		if _, ok := getAttempt(t, db, uid); ok != want {
			t.Errorf("attempt %q kept: %v, want %v", uid, ok, want)
		}
	}
	if n, err := db.PruneLinkAttempts(ctx, t0); err != nil || n != 0 {
		t.Errorf("second PruneLinkAttempts = %d, %v; want 0", n, err)
	}
	if n, _ := db.PruneLinkAttempts(ctx, t0.Add(time.Hour)); n != 2 {
		t.Errorf("PruneLinkAttempts an hour on = %d, want 2", n)
	}
}

// testLinksPerWiki links one chat identity to different accounts on two
// wikis: each wiki sees its own link and attempt, unlinking on one keeps
// the other, and the prune reaches every wiki.
func testLinksPerWiki(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	for wiki, user := range map[string]string{"en": "Ann", "de": "Anna"} {
		if err := db.SaveLink(ctx, commands.Link{Wiki: wiki, Platform: "slack", UserID: "U1", WikiUser: user, Method: commands.LinkByMail}); err != nil {
			t.Fatal(err)
		}
	}
	for wiki, want := range map[string]string{"en": "Ann", "de": "Anna"} {
		if l, ok, err := db.Link(ctx, wiki, "slack", "U1"); err != nil || !ok || l.WikiUser != want || l.Wiki != wiki {
			t.Errorf("Link on %s = %+v, %v, %v; want %s", wiki, l, ok, err, want)
		}
	}
	if _, ok, _ := db.Link(ctx, "fr", "slack", "U1"); ok {
		t.Error("U1 is linked on fr")
	}
	if had, err := db.DeleteLink(ctx, "en", "slack", "U1"); err != nil || !had {
		t.Fatalf("DeleteLink on en = %v, %v", had, err)
	}
	if l, ok, _ := db.Link(ctx, "de", "slack", "U1"); !ok || l.WikiUser != "Anna" {
		t.Errorf("unlinking on en unlinked de: %+v, %v", l, ok)
	}

	for wiki, exp := range map[string]time.Time{"en": t0.Add(-time.Minute), "de": t0.Add(time.Hour)} {
		a := LinkAttempt("U2", "Bob", "123456", []byte("s"), exp)
		a.Wiki = wiki
		if err := db.SaveLinkAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.AddWrongCode(ctx, "de", "slack", "U2"); err != nil || n != 1 {
		t.Errorf("AddWrongCode on de = %d, %v", n, err)
	}
	if a, ok, _ := db.LinkAttempt(ctx, "en", "slack", "U2"); !ok || a.Tries != 0 {
		t.Errorf("en's attempt = %+v, %v; want untouched by de's wrong code", a, ok)
	}
	if n, err := db.PruneLinkAttempts(ctx, t0); err != nil || n != 1 {
		t.Errorf("PruneLinkAttempts = %d, %v; want en's expired one", n, err)
	}
	if _, ok, _ := db.LinkAttempt(ctx, "de", "slack", "U2"); !ok {
		t.Error("the prune removed de's attempt, which has not expired")
	}
	if err := db.DeleteLinkAttempt(ctx, "de", "slack", "U2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.LinkAttempt(ctx, "de", "slack", "U2"); ok {
		t.Error("de's attempt outlived DeleteLinkAttempt")
	}
}

// mailLimits are limits like the service's, shorter to write.
var mailLimits = []commands.MailLimit{
	{Name: "account-5m", Scope: commands.MailsToAccount, Max: 1, Per: 5 * time.Minute},
	{Name: "account-day", Scope: commands.MailsToAccount, Max: 3, Per: 24 * time.Hour},
	{Name: "chat-5m", Scope: commands.MailsForChatUser, Max: 1, Per: 5 * time.Minute},
	{Name: "chat-day", Scope: commands.MailsForChatUser, Max: 5, Per: 24 * time.Hour},
}

// takeMail asks db for a mail to wikiUser on wiki for the Slack user uid
// at t, and fails the test unless the answer is the one wanted: taken
// (want "") or refused by the limit named want until the given time.
func takeMail(t *testing.T, db Store, wiki, wikiUser, uid string, at time.Time, want string, until time.Time) {
	t.Helper()
	hit, taken, err := db.TakeLinkMail(context.Background(),
		commands.LinkMail{Wiki: wiki, WikiUser: wikiUser, Platform: "slack", UserID: uid, Sent: at}, mailLimits)
	switch {
	case err != nil:
		t.Fatalf("TakeLinkMail(%s, %s, %s, +%v): %v", wiki, wikiUser, uid, at.Sub(t0), err)
	case want == "" && !taken:
		t.Errorf("TakeLinkMail(%s, %s, %s, +%v) refused by %s until +%v; want it taken", wiki, wikiUser, uid, at.Sub(t0), hit.Limit.Name, hit.Until.Sub(t0))
	case want != "" && (taken || hit.Limit.Name != want || !hit.Until.Equal(until)):
		t.Errorf("TakeLinkMail(%s, %s, %s, +%v) = %+v, taken %v; want refused by %s until +%v", wiki, wikiUser, uid, at.Sub(t0), hit, taken, want, until.Sub(t0))
	}
}

// testTakeLinkMailLimits takes link mails against limits per account and
// per chat identity: each refuses until its time, exactly; a refused mail
// is not counted; an account on another wiki is another account; the
// counts outlive a restart.
func testTakeLinkMailLimits(t *testing.T, open Opener) {
	db := open(fixed(t0))
	m := time.Minute
	takeMail(t, db, "en", "Ann", "U1", t0, "", time.Time{})
	takeMail(t, db, "en", "Ann", "U2", t0.Add(m), "account-5m", t0.Add(5*m))
	takeMail(t, db, "en", "Bob", "U1", t0.Add(m), "chat-5m", t0.Add(5*m))
	takeMail(t, db, "de", "Ann", "U2", t0.Add(m), "", time.Time{})
	// The chat identity's limit holds across wikis.
	takeMail(t, db, "fr", "Cat", "U2", t0.Add(2*m), "chat-5m", t0.Add(6*m))

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(fixed(t0))
	takeMail(t, db, "en", "Ann", "U3", t0.Add(5*m-time.Millisecond), "account-5m", t0.Add(5*m))
	takeMail(t, db, "en", "Ann", "U3", t0.Add(5*m), "", time.Time{})
	takeMail(t, db, "en", "Ann", "U4", t0.Add(10*m), "", time.Time{})
	// The third mail in a day: the daily limit holds past the interval,
	// and says when the first of the three leaves the day.
	takeMail(t, db, "en", "Ann", "U5", t0.Add(15*m), "account-day", t0.Add(24*time.Hour))
	takeMail(t, db, "en", "Ann", "U5", t0.Add(23*time.Hour), "account-day", t0.Add(24*time.Hour))
	takeMail(t, db, "en", "Ann", "U5", t0.Add(24*time.Hour), "", time.Time{})

	// A chat identity's daily limit, over five accounts.
	for i, user := range []string{"A1", "A2", "A3", "A4", "A5"} {
		takeMail(t, db, "en", user, "U9", t0.Add(time.Duration(i)*5*m), "", time.Time{})
	}
	takeMail(t, db, "en", "A6", "U9", t0.Add(25*m), "chat-day", t0.Add(24*time.Hour))
	// Both limits of the chat identity are full: the one that stays full
	// longer answers.
	takeMail(t, db, "en", "A6", "U9", t0.Add(21*m), "chat-day", t0.Add(24*time.Hour))
	takeMail(t, db, "en", "A6", "U9", t0.Add(24*time.Hour+time.Millisecond), "", time.Time{})

	ctx := context.Background()
	for name, m := range map[string]commands.LinkMail{
		"wiki":      {WikiUser: "Ann", Platform: "slack", UserID: "U1", Sent: t0},
		"wiki user": {Wiki: "en", Platform: "slack", UserID: "U1", Sent: t0},
		"platform":  {Wiki: "en", WikiUser: "Ann", UserID: "U1", Sent: t0},
		"user":      {Wiki: "en", WikiUser: "Ann", Platform: "slack", Sent: t0},
		"time":      {Wiki: "en", WikiUser: "Ann", Platform: "slack", UserID: "U1"},
	} {
		if _, _, err := db.TakeLinkMail(ctx, m, mailLimits); err == nil {
			t.Errorf("TakeLinkMail without a %s succeeded", name)
		}
	}
	ok := commands.LinkMail{Wiki: "en", WikiUser: "Zed", Platform: "slack", UserID: "U1", Sent: t0}
	for name, limits := range map[string][]commands.MailLimit{
		"no limits":  nil,
		"no name":    {{Scope: commands.MailsToAccount, Max: 1, Per: time.Minute}},
		"no maximum": {{Name: "x", Scope: commands.MailsToAccount, Per: time.Minute}},
		"no period":  {{Name: "x", Scope: commands.MailsToAccount, Max: 1}},
	} {
		if _, _, err := db.TakeLinkMail(ctx, ok, limits); err == nil {
			t.Errorf("TakeLinkMail with %s succeeded", name)
		}
	}
}

// testTakeLinkMailRace has many callers, through two handles (two
// processes or replicas), race for an account's last mail of the day, in
// rounds of an account each: exactly one gets it.
func testTakeLinkMailRace(t *testing.T, open Opener) {
	dbs := []Store{open(fixed(t0)), open(fixed(t0))}
	limits := mailLimits[1:2] // the account's daily limit alone
	ctx := context.Background()
	const rounds, callers = 20, 8
	for round := range rounds {
		account := fmt.Sprintf("Ann %d", round)
		mail := func(uid string, at time.Time) commands.LinkMail {
			return commands.LinkMail{Wiki: "en", WikiUser: account, Platform: "slack", UserID: uid, Sent: at}
		}
		for i := range limits[0].Max - 1 {
			if _, taken, err := dbs[0].TakeLinkMail(ctx, mail("before", t0.Add(time.Duration(i)*time.Minute)), limits); err != nil || !taken {
				t.Fatalf("%s, mail %d: taken %v, %v", account, i, taken, err)
			}
		}
		at := t0.Add(time.Hour)
		var won atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				hit, taken, err := dbs[i%2].TakeLinkMail(ctx, mail(fmt.Sprintf("U%d", i), at), limits)
				switch {
				case err != nil:
					t.Error(err)
				case taken:
					won.Add(1)
				case hit.Limit.Name != "account-day" || !hit.Until.Equal(t0.Add(24*time.Hour)):
					t.Errorf("%s: caller %d refused by %+v", account, i, hit)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%s: %d of %d callers took the last mail, want 1", account, n, callers)
		}
		if _, taken, err := dbs[1].TakeLinkMail(ctx, mail("after", at), limits); err != nil || taken {
			t.Fatalf("%s: a mail after the race: taken %v, %v", account, taken, err)
		}
	}
}
