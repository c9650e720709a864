package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// maxValues bounds the first-seen values kept per group: a user seen from
// more countries than that forgets the least recent.
const maxValues = 32

// hit is one match counted towards a threshold.
type hit struct {
	ID   string    `json:"id"`
	Time time.Time `json:"t"`
}

// ruleState is what one rule of one source remembers between windows.
type ruleState struct {
	hits map[string][]hit                 // threshold: group -> matches within the span
	seen *simplelru.LRU[string, []string] // first_seen: group -> values, least recent first out
	cool map[string]time.Time             // group -> end of its cool-down
}

func newRuleState(max int) *ruleState {
	seen, _ := simplelru.NewLRU[string, []string](max, nil) // max >= 1: Validate
	return &ruleState{hits: map[string][]hit{}, seen: seen, cool: map[string]time.Time{}}
}

// sourceState is the committed state of one source: what every rule
// remembers, and what the last committed window added, so that the window
// replayed after a crash between the state's save and the cursor's is
// recognised: its events are not counted twice, and its alerts are raised
// again with the same ids.
type sourceState struct {
	rules  map[string]*ruleState
	folded map[string]bool     // ids of the last window's events that changed the state
	raised map[string][][]byte // the last window's alerts, by the id of the event they follow
}

func newSourceState() *sourceState {
	return &sourceState{rules: map[string]*ruleState{}, folded: map[string]bool{}, raised: map[string][][]byte{}}
}

func (s *sourceState) rule(name string, max int) *ruleState {
	rs := s.rules[name]
	if rs == nil {
		rs = newRuleState(max)
		s.rules[name] = rs
	}
	return rs
}

// overlay is what one window attempt changes, read through to the
// committed state and applied to it only by commit: an attempt the engine
// gives up leaves the committed state as it was.
type overlay struct {
	base   *sourceState
	rules  map[string]*ruleOverlay
	folded map[string]bool
	raised map[string][][]byte
	last   time.Time // the latest event time seen, for pruning
	// fresh counts the alerts first raised in this attempt (not those of
	// a committed window replayed), by rule and severity.
	fresh map[[2]string]int
}

type ruleOverlay struct {
	hits   map[string][]hit
	cool   map[string]time.Time
	values map[string][]string // group -> values as they will be committed
	order  []string            // groups touched, in order (LRU recency)
}

func newOverlay(base *sourceState) *overlay {
	return &overlay{base: base, rules: map[string]*ruleOverlay{}, folded: map[string]bool{}, raised: map[string][][]byte{},
		fresh: map[[2]string]int{}}
}

func (o *overlay) rule(name string) *ruleOverlay {
	ro := o.rules[name]
	if ro == nil {
		ro = &ruleOverlay{hits: map[string][]hit{}, cool: map[string]time.Time{}, values: map[string][]string{}}
		o.rules[name] = ro
	}
	return ro
}

func (o *overlay) hits(rule, group string) []hit {
	if h, ok := o.rule(rule).hits[group]; ok {
		return h
	}
	if rs := o.base.rules[rule]; rs != nil {
		return rs.hits[group]
	}
	return nil
}

func (o *overlay) setHits(rule, group string, h []hit) { o.rule(rule).hits[group] = h }

func (o *overlay) coolUntil(rule, group string) time.Time {
	if t, ok := o.rule(rule).cool[group]; ok {
		return t
	}
	if rs := o.base.rules[rule]; rs != nil {
		return rs.cool[group]
	}
	return time.Time{}
}

func (o *overlay) setCool(rule, group string, until time.Time) { o.rule(rule).cool[group] = until }

// values are the first-seen values of group, and whether the group is
// known at all.
func (o *overlay) values(rule, group string) ([]string, bool) {
	if v, ok := o.rule(rule).values[group]; ok {
		return v, true
	}
	if rs := o.base.rules[rule]; rs != nil {
		return rs.seen.Peek(group)
	}
	return nil, false
}

// see records that group was seen with value (which may be known).
func (o *overlay) see(rule, group, value string) {
	vals, _ := o.values(rule, group)
	if i := slices.Index(vals, value); i >= 0 {
		vals = slices.Delete(slices.Clone(vals), i, i+1)
	} else {
		vals = slices.Clone(vals)
	}
	vals = append(vals, value) // most recent last
	if len(vals) > maxValues {
		vals = vals[len(vals)-maxValues:]
	}
	ro := o.rule(rule)
	ro.values[group] = vals
	ro.order = append(ro.order, group)
}

// changed reports whether o holds anything to commit: a window no rule
// matched leaves the state as it was, and nothing need be written.
func (o *overlay) changed() bool {
	return len(o.folded) > 0
}

// alerts counts the alerts of o's window.
func (o *overlay) alerts() int {
	n := 0
	for _, as := range o.raised {
		n += len(as)
	}
	return n
}

// commit applies o to its base, pruning what can no longer matter:
// threshold hits older than their rule's span and cool-downs that ended
// before the latest event, and anything past max entries per rule.
func (o *overlay) commit(rules []*rule, max int) {
	b := o.base
	for _, r := range rules {
		ro := o.rules[r.Name]
		rs := b.rule(r.Name, max)
		if ro != nil {
			for g, h := range ro.hits {
				if len(h) == 0 {
					delete(rs.hits, g)
				} else {
					rs.hits[g] = h
				}
			}
			for g, t := range ro.cool {
				rs.cool[g] = t
			}
			for _, g := range ro.order {
				rs.seen.Add(g, ro.values[g])
			}
		}
		if r.Threshold != nil {
			for g, h := range rs.hits {
				if len(h) > 0 && !h[len(h)-1].Time.After(o.last.Add(-r.Threshold.Within)) {
					delete(rs.hits, g)
				}
			}
		}
		for g, t := range rs.cool {
			if !t.After(o.last) {
				delete(rs.cool, g)
			}
		}
		trim(rs.hits, max)
		trim(rs.cool, max)
	}
	b.folded, b.raised = o.folded, o.raised
}

// trim drops entries of m past max, those sorting first by key: a cap
// that only an unbounded stream of groups reaches.
func trim[V any](m map[string]V, max int) {
	if len(m) <= max {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys[:len(m)-max] {
		delete(m, k)
	}
}

// stateFile is the JSON of a source's state.
type stateFile struct {
	Version int                          `json:"version"`
	Rules   map[string]ruleStateFile     `json:"rules"`
	Folded  []string                     `json:"folded,omitempty"`
	Raised  map[string][]json.RawMessage `json:"raised,omitempty"`
}

type ruleStateFile struct {
	Hits map[string][]hit     `json:"hits,omitempty"`
	Seen []seenEntry          `json:"seen,omitempty"` // least recent first
	Cool map[string]time.Time `json:"cool,omitempty"`
}

type seenEntry struct {
	Group  string   `json:"g"`
	Values []string `json:"v"`
}

func (s *sourceState) marshal() ([]byte, error) {
	f := stateFile{Version: 1, Rules: map[string]ruleStateFile{}, Raised: map[string][]json.RawMessage{}}
	for name, rs := range s.rules {
		rf := ruleStateFile{Hits: rs.hits, Cool: rs.cool}
		for _, g := range rs.seen.Keys() {
			v, _ := rs.seen.Peek(g)
			rf.Seen = append(rf.Seen, seenEntry{g, v})
		}
		f.Rules[name] = rf
	}
	for id := range s.folded {
		f.Folded = append(f.Folded, id)
	}
	slices.Sort(f.Folded)
	for id, as := range s.raised {
		for _, a := range as {
			f.Raised[id] = append(f.Raised[id], a)
		}
	}
	return json.Marshal(f)
}

func unmarshalState(b []byte, max int) (*sourceState, error) {
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("state version %d, this build reads 1", f.Version)
	}
	s := newSourceState()
	for name, rf := range f.Rules {
		rs := newRuleState(max)
		for g, h := range rf.Hits {
			rs.hits[g] = h
		}
		for g, t := range rf.Cool {
			rs.cool[g] = t
		}
		for _, e := range rf.Seen {
			rs.seen.Add(e.Group, e.Values)
		}
		s.rules[name] = rs
	}
	for _, id := range f.Folded {
		s.folded[id] = true
	}
	for id, as := range f.Raised {
		for _, a := range as {
			s.raised[id] = append(s.raised[id], []byte(a))
		}
	}
	return s, nil
}

// stateDir stores one file per source, written as the file checkpoint
// store writes cursors: a temporary file, fsynced, renamed over the old
// one, the directory fsynced. A crash leaves the old state or the new.
type stateDir struct{ dir string }

func (d stateDir) path(source string) string {
	return filepath.Join(d.dir, url.PathEscape(source)+".json")
}

func (d stateDir) load(source string, max int) (*sourceState, error) {
	b, err := os.ReadFile(d.path(source))
	if errors.Is(err, fs.ErrNotExist) {
		return newSourceState(), nil
	}
	if err != nil {
		return nil, err
	}
	s, err := unmarshalState(b, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.path(source), err)
	}
	return s, nil
}

func (d stateDir) save(source string, data []byte) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), d.path(source)); err != nil {
		return err
	}
	dir, err := os.Open(d.dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
