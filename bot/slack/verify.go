package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxSkew is how far a request's timestamp may be from the clock. Slack's
// request-signing documentation asks for five minutes, to make replays of a
// captured request useless after that.
const maxSkew = 5 * time.Minute

// Kinds of refused requests, as given to Config.OnSecurityEvent.
const (
	KindMissingSignature = "missing-signature"
	KindBadSignature     = "bad-signature"
	KindStaleTimestamp   = "stale-timestamp"
	KindOversized        = "oversized-request"
	KindReplay           = "replayed-request"
)

// verifyError is why a request's signature was refused. Its message says
// what was wrong without the body or the secret.
type verifyError struct {
	Kind   string
	Detail string
}

func (e *verifyError) Error() string { return e.Kind + ": " + e.Detail }

// verifySignature checks Slack's v0 request signature: the hex HMAC-SHA256,
// keyed with the signing secret, of "v0:" + X-Slack-Request-Timestamp + ":"
// + the raw body, sent as "v0=HEX" in X-Slack-Signature. It computes what
// slack-go's SecretsVerifier computes; it is written out here because
// slack.NewSecretsVerifier compares the timestamp with time.Now, and wikimod
// checks it against an injected clock so the five-minute window is exact and
// testable.
func verifySignature(secret string, now time.Time, header http.Header, body []byte) *verifyError {
	_, err := checkSignature(newMAC(secret), now, header, body)
	return err
}

// newMAC returns an HMAC-SHA256 keyed with secret.
func newMAC(secret string) hash.Hash { return hmac.New(sha256.New, []byte(secret)) }

// checkSignature is verifySignature computing with mac, an HMAC-SHA256
// keyed with the signing secret and reset. The caller resets it after. It
// returns the signature it verified, as lower-case hex computed here: the
// one name of what was signed (the timestamp and the body), however the
// header spelled its hex digits, and so the key a replay guard keeps.
func checkSignature(mac hash.Hash, now time.Time, header http.Header, body []byte) (string, *verifyError) {
	sig := header.Get("X-Slack-Signature")
	ts := header.Get("X-Slack-Request-Timestamp")
	switch {
	case sig == "" && ts == "":
		return "", &verifyError{KindMissingSignature, "no X-Slack-Signature or X-Slack-Request-Timestamp header"}
	case sig == "":
		return "", &verifyError{KindMissingSignature, "no X-Slack-Signature header"}
	case ts == "":
		return "", &verifyError{KindMissingSignature, "no X-Slack-Request-Timestamp header"}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", &verifyError{KindBadSignature, "X-Slack-Request-Timestamp is not a number of seconds"}
	}
	skew := now.Sub(time.Unix(secs, 0))
	if skew > maxSkew || skew < -maxSkew {
		return "", &verifyError{KindStaleTimestamp, fmt.Sprintf("timestamp %d is %s from the server clock; more than %s is refused", secs, skew.Round(time.Second), maxSkew)}
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return "", &verifyError{KindBadSignature, "X-Slack-Signature is not a v0 signature"}
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return "", &verifyError{KindBadSignature, "X-Slack-Signature is not a hex SHA-256 digest"}
	}
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	want := mac.Sum(nil)
	if !hmac.Equal(want, got) {
		return "", &verifyError{KindBadSignature, "signature does not match the body and the signing secret"}
	}
	return hex.EncodeToString(want), nil
}

// Sign returns the X-Slack-Signature value Slack would send for body at
// timestamp ts. Tests and tools that stand in for Slack use it.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
