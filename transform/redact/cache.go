package redact

import "sync"

// The values that hold matches repeat: the same e-mail addresses, client
// addresses and user agents come back in event after event. scanCache keeps
// the result of scanning such strings so that the patterns (and, in hash
// mode, the HMAC) run once per distinct value rather than once per event.
// It holds at most cacheEntries results and is emptied when full; strings
// longer than cacheMaxLen (free text) are not kept.
const (
	cacheEntries = 8192
	cacheMaxLen  = 256
)

type scanResult struct {
	out     string
	changed bool
}

// scanCache is safe for concurrent use.
type scanCache struct {
	mu sync.Mutex
	m  map[string]scanResult
}

func (c *scanCache) get(s []byte) (scanResult, bool) {
	c.mu.Lock()
	res, ok := c.m[string(s)]
	c.mu.Unlock()
	return res, ok
}

func (c *scanCache) put(s string, res scanResult) {
	if len(s) > cacheMaxLen {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheEntries {
		c.m = make(map[string]scanResult, 256)
	}
	c.m[s] = res
	c.mu.Unlock()
}
