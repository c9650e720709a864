package openai

import "testing"

func TestAddress(t *testing.T) {
	for _, tc := range []struct{ raw, ip, country string }{
		{`{"actor":{"type":"session","session":{"ip_address":"192.0.2.1","ip_address_details":{"country":"DE","city":"Berlin"}}}}`, "192.0.2.1", "DE"},
		{`{"actor":{"type":"session","session":{"ip_address":"192.0.2.2"}}}`, "192.0.2.2", ""},
		{`{"actor":{"type":"api_key","api_key":{"id":"key_1"}},"ip_address":"192.0.2.3"}`, "", ""},
		{`{"actor":null}`, "", ""},
	} {
		f := Read([]byte(tc.raw), "")
		ip, country := f.Address()
		if ip != tc.ip || country != tc.country {
			t.Errorf("%s: %q %q, want %q %q", tc.raw, ip, country, tc.ip, tc.country)
		}
		if c := f.Client(); c.IP != ip || c.Country != country {
			t.Errorf("%s: Address %q %q, Client %q %q", tc.raw, ip, country, c.IP, c.Country)
		}
	}
}
