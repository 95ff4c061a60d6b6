package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
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

// Wrap returns cmd run inside the namespace instead (what it starts,
// daemons included, stays there).
func (n *NetNS) Wrap(cmd *exec.Cmd) *exec.Cmd {
	w := n.Command(cmd.Path, cmd.Args[1:]...)
	w.Env, w.Dir = cmd.Env, cmd.Dir
	return w
}

// Partition drops every packet that reaches the namespace: connections
// to the engine neither open nor fail, they time out, as across a real
// partition.
func (n *NetNS) Partition() error { return n.iptables("-I", "INPUT", "-i", n.peer, "-j", "DROP") }

// Heal removes the partition.
func (n *NetNS) Heal() error { return n.iptables("-D", "INPUT", "-i", n.peer, "-j", "DROP") }

// Lose drops each packet crossing the link, either way, with probability
// p: real loss, which TCP's retransmissions have to make up for.
func (n *NetNS) Lose(p float64) error {
	for i, rule := range n.lossRules(p) {
		if err := n.iptables(append([]string{"-I"}, rule...)...); err != nil {
			if i > 0 {
				_ = n.iptables(append([]string{"-D"}, n.lossRules(p)[0]...)...) // the error above says it all
			}
			return err
		}
	}
	return nil
}

// StopLosing undoes Lose(p).
func (n *NetNS) StopLosing(p float64) error {
	var first error
	for _, rule := range n.lossRules(p) {
		if err := n.iptables(append([]string{"-D"}, rule...)...); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (n *NetNS) lossRules(p float64) [][]string {
	stat := []string{"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(p, 'f', 4, 64), "-j", "DROP"}
	return [][]string{
		append([]string{"INPUT", "-i", n.peer}, stat...),
		append([]string{"OUTPUT", "-o", n.peer}, stat...),
	}
}

// Delay adds d to every packet the engine sends over the link (the netem
// qdisc: see NetemAvailable).
func (n *NetNS) Delay(d time.Duration) error {
	return ipCmd("netns", "exec", n.Name, "tc", "qdisc", "add", "dev", n.peer, "root", "netem",
		"delay", strconv.FormatInt(d.Microseconds(), 10)+"us")
}

// StopDelaying removes Delay's qdisc.
func (n *NetNS) StopDelaying() error {
	return ipCmd("netns", "exec", n.Name, "tc", "qdisc", "del", "dev", n.peer, "root")
}

func (n *NetNS) iptables(args ...string) error {
	return ipCmd(append([]string{"netns", "exec", n.Name, "iptables"}, args...)...)
}

// ErrNoNetem says the kernel has no netem queueing discipline, without
// which added latency cannot be made (packet loss needs only iptables).
var ErrNoNetem = errors.New("the kernel has no netem qdisc (tc: \"Specified qdisc kind is unknown\"; module sch_netem missing)")

// NetemAvailable tries a netem qdisc in a namespace of its own, made and
// removed for the purpose, so that nothing any other program uses is
// touched.
func NetemAvailable() error {
	if err := NetNSAvailable(); err != nil {
		return err
	}
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("%w: tc not found", ErrNoNetNS)
	}
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	name := "photofeed-netem-" + hex.EncodeToString(r[:])
	if err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	defer ipCmd("netns", "del", name)
	out, err := exec.Command("ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "qdisc kind is unknown") {
			return ErrNoNetem
		}
		return fmt.Errorf("tc qdisc add netem: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
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
