package openai

// Address is the IP address and the country (ISO code) of the session
// that did the event, as Client reads them, without the rest of Client:
// a detection rule that groups by address or tracks countries reads
// these two of every sign-in. "" for any other actor.
func (f *Fields) Address() (ip, country string) {
	if !f.actor.object || f.actor.kind.Str() != "session" {
		return "", ""
	}
	s := &f.actor.session
	return s.ip.Str(), s.country.Str()
}
