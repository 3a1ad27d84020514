package mw

// SetTokenForTest replaces a cached token, to let tests make it stale.
func (c *Client) SetTokenForTest(typ, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]string{}
	}
	c.tokens[typ] = token
}
