package mw

import "net/http"

// SetTokenForTest replaces a cached token, to let tests make it stale.
func (c *Client) SetTokenForTest(typ, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]string{}
	}
	c.tokens[typ] = token
}

// TransportForTest returns the transport the client sends requests through.
func (c *Client) TransportForTest() http.RoundTripper { return c.http.Transport }

// MessageWaitersForTest returns how many callers of Messages wait for a
// fetch another caller runs.
func (c *Client) MessageWaitersForTest() int {
	c.msgMu.Lock()
	defer c.msgMu.Unlock()
	n := 0
	seen := map[*messageFetch]bool{}
	for _, f := range c.fetching {
		if !seen[f] {
			seen[f] = true
			n += f.waiters
		}
	}
	return n
}
