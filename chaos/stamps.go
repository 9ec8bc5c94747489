package chaos

import (
	"context"
	"sync"
	"time"
)

// A fault is an operation with a start and an end, as a Jepsen nemesis op
// is: its instant is when its first side effect began, and the time until
// its last side effect returned is its uncertainty. The injector cannot see
// where inside Inject the side effects start (resolving "the leader" takes
// a REST round trip first), so faults mark them through the context:
//
//	inject ─ resolve targets ─ markBegin ─ side effects ─ markEnd ─ return
//	  │                           │                         │
//	  pre (fallback begin)        begin                     end (fallback: post)
//
// A fault that marks nothing is stamped around its whole Inject call.

// opStamps collects one operation's marks.
type opStamps struct {
	now func() time.Duration

	mu         sync.Mutex
	begin, end time.Duration
	began      bool
	ended      bool
	how        string
}

type stampsKey struct{}

func withStamps(ctx context.Context, s *opStamps) context.Context {
	return context.WithValue(ctx, stampsKey{}, s)
}

func stampsFrom(ctx context.Context) *opStamps {
	s, _ := ctx.Value(stampsKey{}).(*opStamps)
	return s
}

// markBegin records, once, that the fault's first side effect is about to
// happen. Call it after resolving targets, right before the first call
// that changes anything.
func markBegin(ctx context.Context) {
	if s := stampsFrom(ctx); s != nil {
		s.mu.Lock()
		if !s.began {
			s.begin, s.began = s.now(), true
		}
		s.mu.Unlock()
	}
}

// markEnd records that the fault's last side effect has returned; the last
// call counts.
func markEnd(ctx context.Context) {
	if s := stampsFrom(ctx); s != nil {
		s.mu.Lock()
		s.end, s.ended = s.now(), true
		s.mu.Unlock()
	}
}

// noteHow says how the fault's instant was obtained ("pidfd signal ...").
func noteHow(ctx context.Context, how string) {
	if s := stampsFrom(ctx); s != nil && how != "" {
		s.mu.Lock()
		s.how = how
		s.mu.Unlock()
	}
}

// span returns the marked begin and end, falling back to pre and post
// (stamps around the whole call) for what was not marked.
func (s *opStamps) span(pre, post time.Duration) (begin, end time.Duration, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	begin, end, how = pre, post, s.how
	if s.began {
		begin = s.begin
	}
	if s.ended && s.end >= begin {
		end = s.end
	}
	if how == "" {
		how = "stamped around the inject call"
	}
	return begin, end, how
}
