package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// demoTopic is the topic `demo --sink kafka` writes; chatgptTopic that
// of `demo --vendor chatgpt --sink kafka`, anthropicTopic that of
// `demo --vendor anthropic --sink kafka`.
const (
	demoTopic      = "openai.audit"
	chatgptTopic   = "chatgpt.compliance"
	anthropicTopic = "anthropic.compliance"
)

// kafkaSinks are the sinks of `demo --sink kafka` (%s: the broker, then
// the topic): the table on the screen and the Kafka sink as the README
// recommends it, exactly-once with the cursors in a compacted topic next
// to the data. The sink creates both topics, as the broker starts empty.
const kafkaSinks = `
sinks:
  - name: screen
    type: ` + screenSinkType + `
  - name: kafka
    type: kafka
    brokers: [%s]
    topic: %s
    create_topics: true
    partitions: 3
    exactly_once: true
    transactional_id_prefix: auditrelay-demo
checkpoint:
  type: kafka
  sink: kafka
  topic: auditrelay-checkpoints
`

// demoShown is how many records the read-back prints.
const demoShown = 3

// demoReadBack reads the demo's topic back as a consumer would, prints
// what it sees and how to read it with kcat, and with keep waits for
// Ctrl-C before the caller stops the broker.
func (m *Main) demoReadBack(ctx context.Context, addr, topic string, delivered int64, keep bool) int {
	// The run's context may be done already (Ctrl-C ended a run without
	// --events): the read-back still gets its few seconds.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	first, n, err := readTopic(rctx, addr, topic, demoShown)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: reading %s back: %v\n", topic, err)
		return exitFailure
	}
	fmt.Fprintf(m.Stdout, "\nA consumer of %s (isolation read_committed, from the start) reads %d records", topic, n)
	if n != delivered {
		fmt.Fprintf(m.Stdout, ", but %d events were delivered.\n", delivered)
		return exitFailure
	}
	fmt.Fprintf(m.Stdout, ", one per event delivered.")
	if len(first) > 0 {
		fmt.Fprintf(m.Stdout, " The first %d:", len(first))
	}
	fmt.Fprintln(m.Stdout)
	for _, r := range first {
		fmt.Fprint(m.Stdout, describeRecord(r))
	}

	if !keep {
		fmt.Fprintf(m.Stdout, "\nThe broker at %s was in memory, in this process: it and the topic are gone now.\n"+
			"Run with --keep to keep it until Ctrl-C and read the topic with kcat or your own consumer.\n", addr)
		return exitOK
	}
	if ctx.Err() != nil {
		return exitOK // Ctrl-C already came: nothing to keep the broker for
	}
	fmt.Fprintf(m.Stdout, "\nThe broker at %s is in memory, in this process: it runs until Ctrl-C, and the topic goes with it.\n"+
		"Read the topic with:  kcat -C -b %s -t %s -e -f '%%p %%o %%k %%h\\n%%s\\n'\n", addr, addr, topic)
	<-ctx.Done()
	return exitOK
}

// readTopic reads topic from its start to its last committed record, as
// a consumer with read_committed isolation, and returns the first keep
// records and how many it read. It reads to the end offsets rather than to
// a count it expects, so that a duplicate would show.
func readTopic(ctx context.Context, addr, topic string, keep int) (first []*kgo.Record, n int64, err error) {
	// Control records (the transaction markers) come along so that the
	// read can tell when it reached an end offset: a marker is often the
	// last thing in a partition.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.KeepControlRecords())
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("listing the end offsets: %w", err)
	}
	left := map[int32]int64{} // partition: its end offset, while not reached
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		var errs []error
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", t, p, err))
		})
		if len(errs) > 0 {
			return first, n, errors.Join(errs...)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			if n++; len(first) < keep {
				first = append(first, r)
			}
		})
	}
	return first, n, nil
}

// describeRecord prints a record as a consumer sees it: where it is, its
// key, its headers, and the start of its value.
func describeRecord(r *kgo.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s  partition %d  offset %d  key %s\n", r.Topic, r.Partition, r.Offset, r.Key)
	hs := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		hs[i] = h.Key + "=" + string(h.Value)
	}
	// Headers wrap rather than cut: each is short, and all of them are
	// what the record says besides its value.
	for i, line := range wrap(hs, 100) {
		label := "headers"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(&b, "    %-7s  %s\n", label, line)
	}
	fmt.Fprintf(&b, "    value    %s\n", clip(string(r.Value), 100))
	return b.String()
}

// wrap joins words with two spaces into lines of at most width characters
// (a longer word gets a line of its own).
func wrap(words []string, width int) []string {
	var lines []string
	var line string
	for _, w := range words {
		if line != "" && len(line)+2+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += "  "
		}
		line += w
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}
