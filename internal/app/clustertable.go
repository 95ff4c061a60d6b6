package app

import (
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
)

// printTable prints the nodes and engines (one line each: name, role,
// PID, URL, log) and the URL to use.
func (c *clusterRun) printTable() {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tPID\tURL\tLOG")
	entry := ""
	for _, role := range []string{"gateway", "api", "worker"} {
		for _, n := range c.nodes {
			if n.role != role {
				continue
			}
			if entry == "" {
				entry = n.url
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", n.name, n.role, n.proc.PID(), n.url, n.log)
		}
	}
	e := c.engines
	switch {
	case e.pg != nil:
		fmt.Fprintf(w, "postgres\tdatabase\t%d\t%s\t%s\n", e.pg.PID(), e.db, e.pg.LogPath())
		for i, r := range e.pgReplicas {
			fmt.Fprintf(w, "postgres-replica-%d\treplica\t%d\t%s\t%s\n", i+1, r.PID(), r.URL(), r.LogPath())
		}
	default:
		fmt.Fprintf(w, "postgres\tdatabase\t-\t%s\t(given)\n", e.db)
	}
	switch {
	case e.rd != nil:
		fmt.Fprintf(w, "redis\tcache\t%d\t%s\t%s\n", e.rd.PID(), e.redis, e.rd.LogPath())
	default:
		fmt.Fprintf(w, "redis\tcache\t-\t%s\t(given)\n", e.redis)
	}
	switch {
	case e.bus != nil:
		for i := range e.bus.Len() {
			fmt.Fprintf(w, "nats-%d\tbus\t%s\t%s\t(in process)\n", i+1, strconv.Itoa(os.Getpid()), e.bus.NodeURL(i))
		}
	default:
		fmt.Fprintf(w, "nats\tbus\t-\t%s\t(given)\n", e.nats)
	}
	w.Flush()
	kept := "removed on exit; --data-dir keeps state between runs"
	if !c.throwaway {
		kept = "kept between runs"
	}
	fmt.Fprintf(c.stdout, "\ndata in %s (%s); media shared by every node in %s/media\n", c.dir, kept, c.dir)
	fmt.Fprintf(c.stdout, "photofeed cluster ready at %s (Ctrl-C stops everything)\n", entry)
}
