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
