// Package openai holds the OpenAI Admin API client and the audit-log source
// (type "openai_audit_logs").
//
// The audit-log API pages newest first and filters on effective_at in whole
// seconds, and events can become visible late. The source therefore works
// in windows [cursor - overlap, now - settle): it walks every page of a
// window, drops the ids its cursor says were already delivered, hands the
// rest on oldest first, and saves the new cursor only after every batch of
// the window was acknowledged. A crash replays at most the window in flight,
// and its seen-set makes that replay invisible downstream.
//
// It is not an SDK: it implements the few calls auditrelay needs.
package openai
