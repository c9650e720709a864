package chatgptsim

import (
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// What people write: the templates of conversation messages, app calls and
// agent messages. Free text in many scripts, several lines, code blocks,
// and secrets a user should not have pasted (API keys, cloud keys, tokens,
// personal addresses, card numbers), so that a redaction step can be
// proven on them. A placeholder ⟦NAME⟧ is filled from the line's stream;
// Truth reports every secret so filled.

var userTemplates = []string{
	"Why does this return 401?\n```python\nimport openai\nclient = openai.OpenAI(api_key=\"⟦KEY⟧\")\nprint(client.models.list())\n```\nIt worked yesterday.",
	"Please draft a polite reply to ⟦EMAIL⟧ declining the meeting on Thursday — keep it short.",
	"My corporate card ⟦CARD⟧ was charged twice for the same hotel. How do I dispute it?",
	"Resuma o relatório abaixo em três tópicos:\n\nReceita do trimestre: R$ 4,2 mi (+12%).\nResponsável: ⟦EMAIL⟧\nPróximos passos: revisar contratos até sexta.",
	"次の会議メモを英語に翻訳してください。\n参加者：田中、佐藤\n結論：リリースは来週に延期。",
	"Is it safe to put these in our CI config?\n```yaml\nenv:\n  AWS_ACCESS_KEY_ID: ⟦AWS⟧\n  GITHUB_TOKEN: ⟦GH⟧\n```",
	"Explain this stack trace:\n```\npanic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.parse(...)\n\t/src/app/parse.go:42 +0x1d\n```",
	"Write a SQL query for all orders of the customer with e-mail ⟦EMAIL⟧ in the last 30 days.",
	"Übersetze bitte: „Die Lieferung verzögert sich um zwei Wochen.“ Danke! 🙏",
	"ما هي أفضل طريقة لتلخيص هذا المستند؟ أحتاج إلى نقاط رئيسية فقط.",
	"Can you check why our webhook fails? We send `Authorization: Bearer ⟦KEY⟧` and get a 403.",
	"Réécris ce paragraphe de façon plus concise, s'il te plaît : « Nous avons constaté une hausse des tickets. »",
	"Refund request: order #⟦NUM⟧, paid with ⟦CARD⟧, contact ⟦EMAIL⟧.",
	"Give me a regex that matches ISO dates like 2026-07-09.",
	"Summarise: the outage lasted 47 min; root cause a expired TLS cert 🔒; owner ⟦EMAIL⟧.",
}

var assistantTemplates = []string{
	"Here is a corrected version that reads the key from the environment:\n```python\nimport os\nimport openai\nclient = openai.OpenAI(api_key=os.environ[\"OPENAI_API_KEY\"])\n```\nThe key you pasted (`⟦KEY⟧`) should be rotated now: treat it as leaked.",
	"Sure — here's a draft:\n\n> Hi,\n> Thank you for the invitation. Unfortunately I can't make it on Thursday.\n> Best regards",
	"You can dispute the charge in your card issuer's app. I'd avoid sharing full card numbers like ⟦CARD⟧ in chats.",
	"Resumo:\n- Receita +12% no trimestre\n- Revisão de contratos até sexta\n- Dúvidas: ⟦EMAIL⟧",
	"Meeting notes:\nParticipants: Tanaka, Sato\nConclusion: the release moves to next week.",
	"No: never commit keys. Move `⟦AWS⟧` into your CI's secret store and rotate it:\n```bash\naws iam update-access-key --access-key-id \"$KEY_ID\" --status Inactive\n```",
	"The slice has 3 elements (indexes 0–2) and the code reads index 3. Check the loop bound:\n```go\nfor i := 0; i < len(xs); i++ {\n\t_ = xs[i]\n}\n```",
	"```sql\nSELECT o.*\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE c.email = '⟦EMAIL⟧'\n  AND o.created_at >= now() - interval '30 days';\n```",
	"„Die Lieferung verzögert sich um zwei Wochen.“ → “The delivery is delayed by two weeks.”",
	"النقاط الرئيسية:\n١. الهدف\n٢. الجدول الزمني\n٣. المسؤوليات",
	"A 403 with a valid key usually means a missing scope. Also: the token `⟦GH⟧` in your message is live — revoke it.",
	"« Les tickets sont en hausse. » ✅",
	"I can't process refunds, but I've drafted a message to support for order #⟦NUM⟧.",
	"`^\\d{4}-\\d{2}-\\d{2}$` matches the shape; validate the date itself with a date parser.",
	"Post-mortem summary: 47-minute outage caused by an expired certificate. Action: automate renewal.",
}

var titles = []string{
	"Python 401 error", "Decline meeting reply", "Card dispute", "Resumo trimestral", "会議メモの翻訳",
	"CI secrets question", "Go panic explained", "SQL orders query", "Übersetzung Lieferung", "تلخيص المستند",
	"Webhook 403", "Paragraphe concis", "Refund request", "Regex for dates", "Outage summary",
}

var appQueries = []string{
	"open tickets assigned to ⟦EMAIL⟧",
	"invoices paid with card ⟦CARD⟧ in June",
	"files shared with ⟦EMAIL⟧ this week",
	"pull requests mentioning ⟦GH⟧",
	"Q3 roadmap",
}

var appResults = []string{
	"3 tickets found: PLAT-101 (owner ⟦EMAIL⟧), PLAT-117, PLAT-120",
	"Invoice #⟦NUM⟧ — €1 240,00 — paid",
	"roadmap-q3.docx (edited by ⟦EMAIL⟧)",
	"No results.",
}

var agentMessages = []string{
	"Book the Lisbon offsite hotel for 12 people; bill card ⟦CARD⟧.",
	"Send the weekly status to ⟦EMAIL⟧ with the open risks.",
	"Here is the deploy key for the runner: ⟦KEY⟧",
	"Done: 4 expense reports approved, 1 flagged for review.",
	"Réservation confirmée pour le 14/09 ✈️",
}

var agentInstructions = []string{
	"You approve expense reports under 500 EUR and flag anything else to finance.",
	"Summarise new support tickets every morning and post them to #support-digest.",
	"Answer HR policy questions from the handbook only; never guess.",
}

var agentMemories = []string{
	"Prefers replies in Portuguese; manager is ⟦EMAIL⟧.",
	"Corporate card on file: ⟦CARD⟧.",
	"Uses the staging key ⟦KEY⟧ for demos.",
}

var secretFirst = []string{"maria", "joao", "li", "fatima", "olga", "sam", "noah", "aiko", "ravi", "lena"}
var secretLast = []string{"garcia", "silva", "wang", "haddad", "ivanova", "taylor", "becker", "sato", "patel", "novak"}
var secretDomains = []string{"mail.example.net", "inbox.example.org", "post.example.com", "webmail.example"}

// filler expands templates into scratch and reports each secret it puts
// in (when onSecret is set, for Truth).
type filler struct {
	scratch  []byte
	onSecret func(string)
}

// fill appends tmpl with its placeholders filled from r to f.scratch[:0]
// and returns it; it is valid until the next fill.
func (f *filler) fill(r *simkit.RNG, tmpl string) []byte {
	b := f.scratch[:0]
	for {
		i := strings.Index(tmpl, "⟦")
		if i < 0 {
			b = append(b, tmpl...)
			break
		}
		b = append(b, tmpl[:i]...)
		rest := tmpl[i+len("⟦"):]
		j := strings.Index(rest, "⟧")
		name := rest[:j]
		tmpl = rest[j+len("⟧"):]
		start := len(b)
		secret := true
		switch name {
		case "KEY":
			b = append(b, "sk-proj-"...)
			b = r.AppendFrom(b, alnum, 48)
		case "AWS":
			b = append(b, "AKIA"...)
			b = r.AppendFrom(b, upperNum, 16)
		case "GH":
			b = append(b, "ghp_"...)
			b = r.AppendFrom(b, alnum, 36)
		case "EMAIL":
			b = append(b, simkit.Pick(r, secretFirst)...)
			b = append(b, '.')
			b = append(b, simkit.Pick(r, secretLast)...)
			b = strconv.AppendInt(b, int64(r.Between(10, 9999)), 10)
			b = append(b, '@')
			b = append(b, simkit.Pick(r, secretDomains)...)
		case "CARD":
			b = appendCard(b, r)
		default: // NUM
			b = strconv.AppendInt(b, int64(r.Between(10000, 99999)), 10)
			secret = false
		}
		if secret && f.onSecret != nil {
			f.onSecret(string(b[start:]))
		}
	}
	f.scratch = b
	return b
}

// appendCard appends a card number that passes the Luhn check (so a
// detector that validates numbers recognises it): a Visa or Mastercard
// prefix, written plain, in groups of four with spaces, or with dashes.
func appendCard(b []byte, r *simkit.RNG) []byte {
	var d [16]byte
	d[0] = 4
	if r.Intn(2) == 1 {
		d[0], d[1] = 5, byte(r.Between(1, 5))
	} else {
		d[1] = byte(r.Intn(10))
	}
	for i := 2; i < 15; i++ {
		d[i] = byte(r.Intn(10))
	}
	// Luhn: double every second digit from the right, the check digit
	// being the rightmost.
	sum := 0
	for i := 14; i >= 0; i-- {
		v := int(d[i])
		if (14-i)%2 == 0 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = byte((10 - sum%10) % 10)
	sep := [3]byte{0, ' ', '-'}[r.Intn(3)]
	for i, v := range d {
		if i > 0 && i%4 == 0 && sep != 0 {
			b = append(b, sep)
		}
		b = append(b, '0'+v)
	}
	return b
}
