package httplimit

import (
	"sync"
	"time"
)

// AccountBackoff slows password guessing against one account from any
// number of addresses: after Free failures in a row for the account, each
// further failure doubles the wait before the account's password is checked
// again, from Base up to Max. It is kept short and capped because anyone
// can trigger it for any account; the owner is spared it entirely on an
// address they have logged in from before (only the per-address
// login_failures policy applies there).
type AccountBackoff struct {
	Free   int      `json:"free"`   // failures before back-off starts
	Base   Duration `json:"base"`   // the first wait
	Max    Duration `json:"max"`    // the longest wait
	Forget Duration `json:"forget"` // a quiet spell this long clears the failures
}

// Duration reads and writes JSON as a Go duration string ("1m30s").
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errBadDuration(string(b))
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	if err != nil || v <= 0 {
		return errBadDuration(string(b))
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

type errBadDuration string

func (e errBadDuration) Error() string {
	return "want a positive duration such as \"30s\", not " + string(e)
}

// DefaultAccountBackoff: 20 failures (two addresses' worth of
// login_failures) before any wait, then 1 s, 2 s, 4 s … up to 1 min.
var DefaultAccountBackoff = AccountBackoff{Free: 20, Base: Duration(time.Second), Max: Duration(time.Minute),
	Forget: Duration(15 * time.Minute)}

const (
	maxAccounts      = 100_000 // accounts tracked at once; the idle go first
	knownPerAccount  = 4       // addresses remembered per account
	knownAddressLife = 30 * 24 * time.Hour
)

// backoff holds the per-account state in process memory.
type backoff struct {
	cfg      AccountBackoff
	mu       sync.Mutex
	accounts map[string]*account
	known    map[string][]knownAddr
}

type account struct {
	failures int
	inflight int // checks admitted and not yet answered
	last     time.Time
	until    time.Time
}

type knownAddr struct {
	addr string
	seen time.Time
}

func newBackoff(cfg AccountBackoff) *backoff {
	return &backoff{cfg: cfg, accounts: map[string]*account{}, known: map[string][]knownAddr{}}
}

// isKnown reports whether name has logged in from addr recently.
func (b *backoff) isKnown(name, addr string, now time.Time) bool {
	for _, k := range b.known[name] {
		if k.addr == addr && now.Sub(k.seen) < knownAddressLife {
			return true
		}
	}
	return false
}

// begin admits one password check for name from addr, or says how long to
// wait. Past Free failures at most one check is in flight per account, so
// parallel attempts cannot slip in before the first failure is counted.
func (b *backoff) begin(name, addr string, now time.Time) (ok, known bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.isKnown(name, addr, now) {
		return true, true, 0
	}
	a := b.accounts[name]
	if a == nil {
		if len(b.accounts) >= maxAccounts {
			b.evict(now)
		}
		a = &account{}
		b.accounts[name] = a
	}
	if a.inflight == 0 && now.Sub(a.last) >= time.Duration(b.cfg.Forget) {
		a.failures, a.until = 0, time.Time{}
	}
	if now.Before(a.until) {
		return false, false, a.until.Sub(now)
	}
	if a.failures+a.inflight >= b.cfg.Free && a.inflight > 0 {
		return false, false, time.Duration(b.cfg.Base)
	}
	a.inflight++
	return true, false, 0
}

// end records how an admitted check went: failed, succeeded, or neither
// (the request never got to the password).
func (b *backoff) end(name, addr string, known, failed, succeeded bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if succeeded {
		b.remember(name, addr, now)
	}
	if known {
		return
	}
	a := b.accounts[name]
	if a == nil {
		return
	}
	a.inflight--
	if succeeded {
		// The right password from a new address clears the failures (from
		// a known one it must not, or the owner's own logins would hand an
		// attacker a fresh allowance). The entry stays while other checks
		// are in flight: each must end on the count it began on.
		a.failures, a.until = 0, time.Time{}
		if a.inflight == 0 {
			delete(b.accounts, name)
		}
		return
	}
	if !failed {
		return
	}
	a.failures++
	a.last = now
	if over := a.failures - b.cfg.Free; over >= 0 {
		wait := time.Duration(b.cfg.Max)
		if over < 30 {
			wait = min(wait, time.Duration(b.cfg.Base)<<over)
		}
		a.until = now.Add(wait)
	}
}

func (b *backoff) remember(name, addr string, now time.Time) {
	list := b.known[name][:0:0]
	for _, k := range b.known[name] {
		if k.addr != addr && now.Sub(k.seen) < knownAddressLife {
			list = append(list, k)
		}
	}
	list = append(list, knownAddr{addr: addr, seen: now})
	if len(list) > knownPerAccount {
		list = list[len(list)-knownPerAccount:]
	}
	if _, ok := b.known[name]; !ok && len(b.known) >= maxAccounts {
		for k := range b.known { // drop an arbitrary one: the owner re-earns it by logging in
			delete(b.known, k)
			break
		}
	}
	b.known[name] = list
}

// evict drops accounts whose failures are forgotten, then arbitrary idle
// ones: forgetting an account only gives an attacker a fresh Free.
func (b *backoff) evict(now time.Time) {
	for k, a := range b.accounts {
		if a.inflight == 0 && now.Sub(a.last) >= time.Duration(b.cfg.Forget) {
			delete(b.accounts, k)
		}
	}
	for k, a := range b.accounts {
		if len(b.accounts) < maxAccounts {
			break
		}
		if a.inflight == 0 {
			delete(b.accounts, k)
		}
	}
}
