package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// NetNS is a network namespace made for one engine, joined to this
// host's namespace by a pair of veth links on a /30 of their own. The
// engine's traffic crosses a link this process can cut (iptables inside
// the namespace) without touching loopback, which every other program on
// the machine shares.
type NetNS struct {
	Name       string
	host, peer string // the veth ends, here and in the namespace
	HostIP     string // this side's address
	PeerIP     string // the engine's address
}

// ErrNoNetNS says the namespace cannot be made here: it needs root, ip
// and iptables.
var ErrNoNetNS = errors.New("network faults need root and the ip and iptables commands (iproute2, iptables)")

// NetNSAvailable reports whether NewNetNS can work here.
func NetNSAvailable() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not running as root", ErrNoNetNS)
	}
	for _, c := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%w: %s not found", ErrNoNetNS, c)
		}
	}
	return nil
}

// NewNetNS makes a namespace and its link. Close removes both.
func NewNetNS() (_ *NetNS, err error) {
	if err := NetNSAvailable(); err != nil {
		return nil, err
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	tag := hex.EncodeToString(r[:3])
	// A /30 in 10.231/16 the random bytes pick: .1 here, .2 there.
	base := fmt.Sprintf("10.231.%d.%d", r[0], r[3]&0xfc)
	prefix := base[:strings.LastIndex(base, ".")+1]
	last := int(r[3] & 0xfc)
	n := &NetNS{Name: "photofeed-chaos-" + tag, host: "pfc" + tag + "h", peer: "pfc" + tag + "n",
		HostIP: fmt.Sprintf("%s%d", prefix, last+1), PeerIP: fmt.Sprintf("%s%d", prefix, last+2)}
	if err := ipCmd("netns", "add", n.Name); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	steps := [][]string{
		{"link", "add", n.host, "type", "veth", "peer", "name", n.peer},
		{"link", "set", n.peer, "netns", n.Name},
		{"addr", "add", n.HostIP + "/30", "dev", n.host},
		{"link", "set", n.host, "up"},
		{"netns", "exec", n.Name, "ip", "addr", "add", n.PeerIP + "/30", "dev", n.peer},
		{"netns", "exec", n.Name, "ip", "link", "set", n.peer, "up"},
		{"netns", "exec", n.Name, "ip", "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Command runs bin inside the namespace (ip netns exec execs it: the
// process is bin, with the PID of the command).
func (n *NetNS) Command(bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, bin}, args...)...)
}

// Partition drops every packet that reaches the namespace: connections
// to the engine neither open nor fail, they time out, as across a real
// partition.
func (n *NetNS) Partition() error { return n.iptables("-I") }

// Heal removes the partition.
func (n *NetNS) Heal() error { return n.iptables("-D") }

func (n *NetNS) iptables(op string) error {
	return ipCmd("netns", "exec", n.Name, "iptables", op, "INPUT", "-i", n.peer, "-j", "DROP")
}

// Close removes the link and the namespace.
func (n *NetNS) Close() error {
	err := ipCmd("link", "del", n.host) // takes its peer with it
	if err2 := ipCmd("netns", "del", n.Name); err == nil {
		err = err2
	}
	return err
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
