package httpapi

import (
	"crypto/sha256"
	"net/url"
	"sync"
)

// Limiters holds one Limiter per API key, shared by the sources of a
// process that use the same key: the vendor counts the key's requests, not
// the source's. Safe for concurrent use.
type Limiters struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*Limiter
}

// NewLimiters returns an empty set.
func NewLimiters() *Limiters { return &Limiters{m: map[[sha256.Size]byte]*Limiter{}} }

// For returns the limiter of the key at host, creating it with cfg on
// first use (a later source with the same key shares it, whatever its cfg).
// A nil *Limiters gives every caller a limiter of its own.
func (l *Limiters) For(host, key string, cfg LimiterConfig) *Limiter {
	if l == nil {
		return NewLimiter(cfg)
	}
	id := sha256.Sum256([]byte(host + "\x00" + key))
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.m[id]; ok {
		return lim
	}
	lim := NewLimiter(cfg)
	l.m[id] = lim
	return lim
}

// ForBaseURL is For at the host of baseURL (the whole string when it does
// not parse), its concurrency capped by fetchConcurrency, the source's
// optional fetch_concurrency (nil: the default).
func (l *Limiters) ForBaseURL(baseURL, key string, fetchConcurrency *int) *Limiter {
	host := baseURL
	if u, err := url.Parse(baseURL); err == nil {
		host = u.Host
	}
	var cfg LimiterConfig
	if fetchConcurrency != nil {
		cfg.MaxConcurrency = *fetchConcurrency
	}
	return l.For(host, key, cfg)
}
