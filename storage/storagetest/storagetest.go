// Package storagetest is the contract every backend of wikimod's state
// keeps: one set of tests that the SQLite backend (storage.DB) and the
// PostgreSQL one (storage/postgres) both run, so that what one is tested
// for the other is too. The tests reach a store only through its methods,
// never its SQL.
package storagetest

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testwait"
)

// Store is what a backend offers: commands.Store, the one contract of
// every backend. The name stays for the tests that read a database back.
type Store = commands.Store

// Opener opens a handle on one test's database with the given clock. Each
// call opens another: a restart, or a second process (a replica) sharing
// the database. Handles are closed when the test ends; a test may close
// one sooner.
type Opener func(now func() time.Time) Store

// Run runs the contract against a backend. newDB makes an empty database
// for the test t and returns how to open it. The subtests run in parallel,
// each on a database of its own.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, open Opener)
	}{
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditQueuedStartFinish", testAuditQueuedStartFinish},
		{"AuditUnsettledAfterACrash", testAuditUnsettledAfterACrash},
		{"AuditWikiUser", testAuditWikiUser},
		{"AuditWiki", testAuditWiki},
		{"AuditLimits", testAuditLimits},
		{"AuditConcurrentWriters", testAuditConcurrentWriters},
		{"AuditAnyBytes", testAuditAnyBytes},
		{"AuditOwner", testAuditOwner},
		{"AuditSettleOnce", testAuditSettleOnce},
		{"NoticeClaimRetryEnd", testNoticeClaimRetryEnd},
		{"NoticeClaimedOnceByConcurrentReplicas", testNoticeClaimedOnceByConcurrentReplicas},
		{"FirstSeenOnceUntilExpiry", testFirstSeenOnceUntilExpiry},
		{"FirstSeenSurvivesRestart", testFirstSeenSurvivesRestart},
		{"FirstSeenConcurrentSameKey", testFirstSeenConcurrentSameKey},
		{"ReplaysPrunedAfterWindow", testReplaysPrunedAfterWindow},
		{"SecurityCountsAddUp", testSecurityCountsAddUp},
		{"SecurityCountsAggregateBatches", testSecurityCountsAggregateBatches},
		{"SecurityCountsConcurrentFlushers", testSecurityCountsConcurrentFlushers},
		{"LinkSaveReplaceDelete", testLinkSaveReplaceDelete},
		{"LinkRejectsEmptyNames", testLinkRejectsEmptyNames},
		{"LinkAttemptReplaceResetsTries", testLinkAttemptReplaceResetsTries},
		{"AddWrongCodeCounts", testAddWrongCodeCounts},
		{"PruneLinkAttempts", testPruneLinkAttempts},
		{"LinksPerWiki", testLinksPerWiki},
		{"TakeLinkMailLimits", testTakeLinkMailLimits},
		{"TakeLinkMailRace", testTakeLinkMailRace},
		{"AdoptWiki", testAdoptWiki},
		{"AdoptWikiRefusesACollision", testAdoptWikiRefusesACollision},
		{"SchemaAndWritable", testSchemaAndWritable},
		{"WritableFromReplicasAtOnce", testWritableFromReplicasAtOnce},
		{"UseAfterCloseIsAnError", testUseAfterCloseIsAnError},
		{"FormTakenOnceByItsOwner", testFormTakenOnceByItsOwner},
		{"FormExpires", testFormExpires},
		{"FormTakenByOneOfManyReplicas", testFormTakenByOneOfManyReplicas},
		{"RemindersReconcile", testRemindersReconcile},
		{"RemindersClaimSupersedes", testRemindersClaimSupersedes},
		{"RemindersRetryBacksOffThenGivesUp", testRemindersRetryBacksOffThenGivesUp},
		{"RemindersRecoverClaimed", testRemindersRecoverClaimed},
		{"RemindersRecoverStaleClaims", testRemindersRecoverStaleClaims},
		{"RemindersDismissExpiringPrune", testRemindersDismissExpiringPrune},
		{"RemindersState", testRemindersState},
		{"RemindersSameTitleOnTwoWikis", testRemindersSameTitleOnTwoWikis},
		{"RemindersAdoptWiki", testRemindersAdoptWiki},
		{"RemindersConcurrentReconcile", testRemindersConcurrentReconcile},
		{"RemindersConcurrentClaimers", testRemindersConcurrentClaimers},
		{"LeaseTakeRenewExpireRelease", testLeaseTakeRenewExpireRelease},
		{"LeaseRace", testLeaseRace},
		{"LanguageSetReadOverwriteForget", testLanguageSetReadOverwriteForget},
		{"LanguageRefusesInvalid", testLanguageRefusesInvalid},
		{"LanguageSharedByHandles", testLanguageSharedByHandles},
		{"LanguageDumpRestore", testLanguageDumpRestore},
		{"AlertCursors", testAlertCursors},
		{"AlertsOncePerBurst", testAlertsOncePerBurst},
		{"AlertsRaisedOnceByConcurrentReplicas", testAlertsRaisedOnceByConcurrentReplicas},
		{"AlertsTouch", testAlertsTouch},
		{"AlertsPostedAndOpen", testAlertsPostedAndOpen},
		{"AlertsActedOnOnce", testAlertsActedOnOnce},
		{"AlertsPrune", testAlertsPrune},
		{"AlertsDumpRestore", testAlertsDumpRestore},
		{"AlertsAdoptWiki", testAlertsAdoptWiki},
		{"BatchLifecycle", testBatchLifecycle},
		{"BatchClaimedOnceByConcurrentReplicas", testBatchClaimedOnceByConcurrentReplicas},
		{"BatchEndedOnceByConcurrentReplicas", testBatchEndedOnceByConcurrentReplicas},
		{"BatchPages", testBatchPages},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newDB(t))
		})
	}
}

// t0 is when every test's clock starts: midday, so that minutes print
// as 12:00, 12:01.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixed returns a clock stopped at t.
func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// clock is a test's injected clock.
type clock = testwait.Clock

// newClock returns a clock set to t.
var newClock = testwait.NewClock
