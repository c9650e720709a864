package detect

import "testing"

func TestExpand(t *testing.T) {
	vals := map[string]string{"ip": "192.0.2.1", "count": "5", "empty": ""}
	value := func(n string) (string, bool) { v, ok := vals[n]; return v, ok }
	for in, want := range map[string]string{
		"no braces":                         "no braces",
		"{count} from {ip}":                 "5 from 192.0.2.1",
		"{unknown} stays, {ip} goes":        "{unknown} stays, 192.0.2.1 goes",
		"[{empty}] {ip":                     "[] {ip",
		"}{count}{":                         "}5{",
		"https://x/?ids={ip}&r={count}{ip}": "https://x/?ids=192.0.2.1&r=5192.0.2.1",
	} {
		if got := expand(in, value); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}
