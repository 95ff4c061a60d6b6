package posts

import "sync"

// Settlements carries "post N is no longer processing" (its variants are
// made, or it failed) from the thumbnail job to the uploads waiting for
// it, so an upload's response wakes when its photo is ready instead of
// re-reading the post on a timer. Where the job runs in another process
// the announcements arrive over the bus; a lost one only makes the upload
// wait to its bound and answer with the post as it then stands.
type Settlements struct {
	mu      sync.Mutex
	waiting map[int64][]chan struct{}
}

func NewSettlements() *Settlements {
	return &Settlements{waiting: map[int64][]chan struct{}{}}
}

// Settled wakes whoever waits for post id.
func (s *Settlements) Settled(id int64) {
	s.mu.Lock()
	chans := s.waiting[id]
	delete(s.waiting, id)
	s.mu.Unlock()
	for _, ch := range chans {
		close(ch)
	}
}

// watch returns a channel closed when post id is announced settled, and
// how to stop watching. A waiter watches before it reads the post, so an
// announcement made after that read is never missed.
func (s *Settlements) watch(id int64) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiting[id] = append(s.waiting[id], ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		list := s.waiting[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.waiting, id)
		} else {
			s.waiting[id] = list
		}
	}
}
