package redisstore_test

import (
	"cmp"
	"slices"
	"testing"
)

// refTimeline is the packed timeline's behaviour in plain Go: a set of
// ids, newest first, trimmed to the newest cap after each add.
type refTimeline struct {
	ids []int64
	cap int
}

func (r *refTimeline) add(ids []int64) {
	for _, id := range ids {
		if !slices.Contains(r.ids, id) {
			r.ids = append(r.ids, id)
		}
	}
	slices.SortFunc(r.ids, func(a, b int64) int { return cmp.Compare(b, a) })
	r.ids = r.ids[:min(len(r.ids), r.cap)]
}

func (r *refTimeline) remove(ids []int64) {
	r.ids = slices.DeleteFunc(r.ids, func(id int64) bool { return slices.Contains(ids, id) })
}

func (r *refTimeline) page(before int64, limit int) []int64 {
	var out []int64
	for _, id := range r.ids {
		if len(out) < limit && (before == 0 || id < before) {
			out = append(out, id)
		}
	}
	return out
}

// fuzzIDs are the ids the fuzzer picks from: neighbours in the low bits
// and on either side of the 32-bit halves the scripts compare.
var fuzzIDs = func() []int64 {
	ids := lowBitIDs()
	for _, id := range slices.Clone(ids) {
		ids = append(ids, id+1<<31, id+1<<40)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}()

// Random adds, removes and page reads leave the packed timeline as the
// reference has it. Each input is a list of operations of three bytes:
// the kind, then two that pick ids (or a page's start and length).
//
//	go test -run XXX -fuzz FuzzPackedTimeline -fuzztime 30s ./internal/redisstore
func FuzzPackedTimeline(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 3, 3, 1, 1, 1, 2, 4, 3})
	f.Add([]byte{0, 0, 20, 0, 5, 7, 1, 6, 6, 2, 0, 9, 0, 19, 19, 1, 0, 25, 2, 7, 2})
	f.Add([]byte{0, 26, 0, 0, 10, 11, 0, 12, 13, 1, 0, 26, 0, 1, 2, 2, 12, 4})
	client, prefix := sharedRedis(f)
	tl := packedTimelines(f, client, prefix, 0)
	user := int64(0)
	f.Fuzz(func(t *testing.T, ops []byte) {
		ctx := t.Context()
		user++ // a timeline of its own for each input
		if err := tl.Rebuild(ctx, user, 10_000, 800); err != nil {
			t.Fatal(err)
		}
		ref := refTimeline{cap: 8} // small enough to trim often
		pick := func(a, b byte) []int64 {
			lo, hi := int(a)%len(fuzzIDs), int(b)%len(fuzzIDs)
			return fuzzIDs[min(lo, hi) : max(lo, hi)+1]
		}
		for i := 0; i+2 < len(ops) && i < 3*64; i += 3 {
			switch op, a, b := ops[i]%3, ops[i+1], ops[i+2]; op {
			case 0:
				ids := pick(a, b)
				if err := tl.AddTo(ctx, []int64{user}, ids, ref.cap); err != nil {
					t.Fatal(err)
				}
				ref.add(ids)
			case 1:
				ids := pick(a, b)
				if err := tl.RemoveFrom(ctx, []int64{user}, ids); err != nil {
					t.Fatal(err)
				}
				ref.remove(ids)
			case 2:
				before := int64(0)
				if a%4 != 0 {
					before = fuzzIDs[int(a)%len(fuzzIDs)] + int64(a%3) - 1 // held, or either side of one
				}
				limit := int(b % 10)
				got, exists, err := tl.Timeline(ctx, user, before, limit, false)
				if err != nil || !exists || !slices.Equal(got, ref.page(before, limit)) {
					t.Fatalf("op %d: page before %d, %d: %x %v %v, want %x", i/3, before, limit, got, exists, err, ref.page(before, limit))
				}
			}
			if got := stored(t, client, tl, user); !slices.Equal(got, ref.ids) {
				t.Fatalf("op %d: stored %x, want %x", i/3, got, ref.ids)
			}
		}
	})
}
