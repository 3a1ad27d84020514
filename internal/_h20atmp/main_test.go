package wikirun

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
)

func TestServe(t *testing.T) {
	dir, _ := os.MkdirTemp("", "h20awiki")
	w, err := devwiki.Start(context.Background(), devwiki.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fmt.Println("URL", w.APIURL, w.BotUser, w.BotPassword, w.Version())
	os.WriteFile("/tmp/h20a/wiki-"+w.Version(), []byte(w.APIURL+"\n"+w.BotUser+"\n"+w.BotPassword+"\n"), 0o600)
	time.Sleep(3 * time.Hour)
}
