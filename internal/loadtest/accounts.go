package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Accounts is the dataset a load runs on, as kept in an accounts file:
//
//	{"users": [{"username": "u1", "password": "p1", "token": "optional"}],
//	 "posts": ["post id", ...]}
//
// A user without a token is logged in with the password. Without posts,
// the users' own latest posts are listed and liked.
type Accounts struct {
	Users []Account `json:"users"`
	Posts []string  `json:"posts,omitempty"`
}

// Account is one test user.
type Account struct {
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// ReadAccounts reads an accounts file.
func ReadAccounts(path string) (Accounts, error) {
	var a Accounts
	raw, err := os.ReadFile(path)
	if err != nil {
		return a, fmt.Errorf("accounts: %w", err)
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return a, fmt.Errorf("accounts %s: %w", path, err)
	}
	if len(a.Users) == 0 {
		return a, fmt.Errorf("accounts %s: no users", path)
	}
	for i, u := range a.Users {
		if u.Username == "" || (u.Token == "" && u.Password == "") {
			return a, fmt.Errorf("accounts %s: user %d needs a username and a token or password", path, i)
		}
	}
	return a, nil
}

// WriteAccounts saves a for a later run with --no-seed; the tokens in it
// are credentials, so it is private to its owner.
func WriteAccounts(path string, a Accounts) error {
	raw, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

// Complete logs in the users without a token and finds posts to like if
// the file named none.
func (a *Accounts) Complete(ctx context.Context, c *Client) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range a.Users {
		if a.Users[i].Token != "" {
			continue
		}
		g.Go(func() error {
			tok, err := c.Login(gctx, a.Users[i].Username, a.Users[i].Password)
			a.Users[i].Token = tok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	for _, u := range a.Users {
		if len(a.Posts) > 0 {
			break
		}
		ids, err := c.PostsOf(ctx, u.Username)
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		a.Posts = append(a.Posts, ids...)
	}
	return nil
}

// Dataset is the size of a seeded dataset.
type Dataset struct {
	Users, FollowsPerUser, PostsPerUser int
}

// Seed makes ds.Users accounts (names with a random prefix, so seeding
// twice does not collide), their photos and their follows, drawn with a
// fixed seed, through the public API.
func Seed(ctx context.Context, c *Client, ds Dataset, progress func(string)) (Accounts, error) {
	if ds.Users < 1 {
		return Accounts{}, errors.New("seed: need at least one user")
	}
	var raw [3]byte
	rand.Read(raw[:])
	prefix := "lt" + hex.EncodeToString(raw[:])
	a := Accounts{Users: make([]Account, ds.Users)}
	var mu sync.Mutex
	// Four at a time: sign-up hashes a password, and more would only
	// queue on the server's cores.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for u := range ds.Users {
		g.Go(func() error {
			name := fmt.Sprintf("%s_%05d", prefix, u)
			pw := "pw-" + name
			if err := c.SignUp(gctx, name, pw); err != nil {
				return err
			}
			tok, err := c.Login(gctx, name, pw)
			if err != nil {
				return err
			}
			a.Users[u] = Account{Username: name, Password: pw, Token: tok}
			for p := range ds.PostsPerUser {
				id, err := c.Upload(gctx, tok, fmt.Sprintf("photo %d of %s #loadtest", p, name), Photo(u, p))
				if err != nil {
					return err
				}
				mu.Lock()
				a.Posts = append(a.Posts, id)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return a, fmt.Errorf("seed: %w", err)
	}
	progress(fmt.Sprintf("seeded %d users, %d posts; following", ds.Users, len(a.Posts)))
	r := mrand.New(mrand.NewPCG(1, 2))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for u := range ds.Users {
		others := r.Perm(ds.Users)
		n := 0
		for _, f := range others {
			if n == ds.FollowsPerUser {
				break
			}
			if f == u {
				continue
			}
			n++
			g.Go(func() error { return c.Follow(gctx, a.Users[u].Token, a.Users[f].Username) })
		}
	}
	if err := g.Wait(); err != nil {
		return a, fmt.Errorf("seed: %w", err)
	}
	return a, nil
}
