// Package openai holds OpenAI's Admin API as auditrelay reads it: the
// audit-log source (type "openai_audit_logs"), the request-log source (type
// "openai_organization_logs"), the reading of their list pages and events,
// and the client the CLI's list, get, export and stats use.
//
// The audit-log API pages newest first and filters on effective_at in whole
// seconds, and events can become visible late: the source plans its windows
// with package timewindow (overlap, seen ids, concurrent stretches committed
// in order) and reads them through package httpapi (retries, the adaptive
// limiter of the key, the guards of the page walker, the API's clock). The
// request-log API has no time filter: the source pages it in order asc from
// its last id, or desc down to its cursor's time minus the overlap.
//
// Both only emit windows; the engine in package pipeline delivers them.
// It is not an SDK: it implements the few calls auditrelay needs.
package openai
