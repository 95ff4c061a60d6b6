package identity

import "context"

// HoldHashBudget takes kib of s's hashing budget, as hashes in progress
// would, until the returned func is called.
func HoldHashBudget(s *Service, kib int64) (release func()) {
	s.budget.sem.Acquire(context.Background(), kib)
	return func() { s.budget.sem.Release(kib) }
}
