package testenv

import "github.com/wikimod/wikimod/internal/testwait"

// Clock is the injected clock of a test (testwait.Clock).
type Clock = testwait.Clock

// NewClock returns a clock set to t.
var NewClock = testwait.NewClock
