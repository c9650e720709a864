package chatgptsim

import (
	"io"
	"time"
)

// What a test needs to know to judge a client: which files are visible,
// their bytes, and everything the lines carry.

// Files lists the files of eventType visible now (end_time not after
// Now()), in listing order. An unknown type has none.
func (s *Server) Files(eventType string) []FileInfo {
	t, ok := s.typeIdx[eventType]
	if !ok {
		return nil
	}
	var out []FileInfo
	now := s.now().UnixNano()
	for slot := int64(0); s.endNs(t, slot) <= now; slot++ {
		for j := range s.filesIn(t, slot) {
			out = append(out, s.info(fileRef{t, slot, j}))
		}
	}
	return out
}

// AllFiles lists the visible files of every type, type by type in the
// order of Options.Types.
func (s *Server) AllFiles() []FileInfo {
	var out []FileInfo
	for _, t := range s.types {
		out = append(out, s.Files(t)...)
	}
	return out
}

// WriteFile writes the bytes the download host serves for file id when no
// fault hits it, whether or not the file is visible yet; false when no
// file of this export has that id.
func (s *Server) WriteFile(w io.Writer, id string) (ok bool, err error) {
	f, ok := s.parseFileID(id)
	if !ok {
		return false, nil
	}
	var fl filler
	s.lines(f, &fl, nil, func(line []byte) bool {
		_, err = w.Write(line)
		return err == nil
	})
	return true, err
}

// Truth is everything the visible files hold, for assertions: a complete
// collector delivers every EventIDs entry (and a de-duplicating one each
// exactly once), and after redaction no sink output may contain any of
// Secrets.
type Truth struct {
	// Files and Lines count the visible files and all their lines,
	// duplicated lines included.
	Files, Lines int
	// EventIDs are the distinct event ids, in the order they first appear
	// (type by type, then file by file).
	EventIDs []string
	// Duplicates counts lines whose event_id an earlier line had.
	Duplicates int
	// Messages are the distinct texts of CONVERSATION_MESSAGE records
	// (message.content.value), user questions and assistant answers.
	Messages []string
	// Secrets are the distinct secrets (API keys, cloud keys, tokens,
	// personal e-mail addresses, card numbers) placed in what people
	// wrote: conversation messages, app inputs and outputs, agent
	// messages, connector calls and memories. None is an address of the
	// workspace's directory, which records name openly.
	Secrets []string
}

// Truth renders every visible file and reports what it holds. It costs a
// rendering of every line: fine for the hundreds of thousands of lines a
// test uses.
func (s *Server) Truth() Truth {
	var tr Truth
	ids, msgs, secrets := map[string]bool{}, map[string]bool{}, map[string]bool{}
	fl := filler{onSecret: func(x string) {
		if !secrets[x] {
			secrets[x] = true
			tr.Secrets = append(tr.Secrets, x)
		}
	}}
	msg := func(x string) {
		if !msgs[x] {
			msgs[x] = true
			tr.Messages = append(tr.Messages, x)
		}
	}
	now := s.now().UnixNano()
	for t := range s.types {
		for slot := int64(0); s.endNs(t, slot) <= now; slot++ {
			for j := range s.filesIn(t, slot) {
				tr.Files++
				s.lines(fileRef{t, slot, j}, &fl, msg, func(line []byte) bool {
					tr.Lines++
					id := string(line[len(`{"event_id":"`) : len(`{"event_id":"`)+36])
					if ids[id] {
						tr.Duplicates++
					} else {
						ids[id] = true
						tr.EventIDs = append(tr.EventIDs, id)
					}
					return true
				})
			}
		}
	}
	return tr
}

// Start is the instant the export begins (Options.Start, or its default),
// and Interval the span of a file.
func (s *Server) Start() time.Time { return time.Unix(0, s.startNs).UTC() }

// Interval is the span a file covers.
func (s *Server) Interval() time.Duration { return s.interval }
