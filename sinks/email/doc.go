// Package email is the "email" sink: it mails the events it receives (in
// practice the alerts of the detect transform, routed to it) through an
// SMTP server, several events to a mail, with STARTTLS or implicit TLS and
// PLAIN or LOGIN authentication.
//
// A mail is rendered from a subject and a body template (text/template,
// the fields are those of Mail and Event), carries the events as they were
// delivered in an attachment (events.jsonl), and has a Message-ID derived
// from the ids of its events, so that the same events mailed again after a
// crash carry the same Message-ID.
//
// Delivery follows the engine's two calls: Consume collects a window's
// events into the mail being filled (a mail may hold the events of several
// sources' windows); CommitWindow returns only once every mail holding an
// event of the window was answered 250 after DATA. A mail leaves when it
// holds max_events_per_mail events, when batch_delay has passed since its
// first event, or as soon as every window with events in it is committing
// (no more events can join it then). A 4xx answer or a broken connection is
// retryable: CommitWindow fails, the engine sends the window again. A 5xx
// answer to MAIL, RCPT or DATA refuses the mail's events for good:
// CommitWindow returns them in a *pipeline.RejectedError, and the engine
// hands them to the dead-letter sink. A refused login, a 5xx greeting and
// a TLS failure are permanent.
//
// It does not choose which events to mail (a sink's accept section does,
// as for every sink), retry on its own (the engine does), nor deliver mail
// itself: it needs a relay or submission server.
package email
