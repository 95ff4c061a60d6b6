// Package natsbus is the event bus on NATS JetStream: an embedded server
// for one-node deployments (its store under the data directory), or an
// external server or cluster by URL; the events stream with server-side
// deduplication; durable consumers that ack explicitly and park an event
// that keeps failing instead of blocking the stream.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/resilience"
)

const (
	EventsStream     = "PHOTOFEED_EVENTS"
	DeadLetterStream = "PHOTOFEED_DEADLETTER"
	eventSubjects    = "photofeed.events.>"
	deadSubject      = "photofeed.deadletter."
	// SeqHeader carries the outbox seq, so consumers can say how far they got.
	SeqHeader = "Photofeed-Outbox-Seq"
	// SourceHeader names the database whose outbox the seq is in, where
	// there are several.
	SourceHeader = "Photofeed-Outbox-Source"
	// TraceParentHeader carries the W3C trace context of the request
	// that wrote the event, as in HTTP.
	TraceParentHeader = "traceparent"
)

// Config selects and sizes the bus.
type Config struct {
	// URL of an external server or cluster ("nats://a:4222,nats://b:4222");
	// empty starts an embedded server.
	URL string
	// StoreDir is the embedded server's JetStream directory.
	StoreDir string
	// MaxMemory and MaxStore bound the embedded server's JetStream; the
	// server would otherwise size them from the host (gigabytes).
	MaxMemory, MaxStore int64
	// Replicas of the streams; 0 picks 3 on a cluster of three or more
	// nodes, else 1.
	Replicas int
	Logger   *slog.Logger
	// OnConnection, if set, is told when the connection to an external
	// server is lost (false) and made again (true): what waits on news
	// from the bus stops waiting while it cannot come. The client
	// reconnects by itself, for good.
	OnConnection func(connected bool)
}

// Bus is a connection to JetStream.
type Bus struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger

	mu sync.Mutex
	// failing holds the consumers that could not be made or stopped,
	// with why: what Ready reports.
	failing map[string]error
}

// Open connects (starting the embedded server if no URL) and makes sure the
// streams exist.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMemory <= 0 {
		cfg.MaxMemory = 64 << 20
	}
	if cfg.MaxStore <= 0 {
		cfg.MaxStore = 1 << 30
	}
	if cfg.Replicas < 0 {
		cfg.Replicas = 1
	}
	b := &Bus{log: cfg.Logger}
	var err error
	if cfg.URL == "" {
		b.srv, err = server.NewServer(&server.Options{
			ServerName: "photofeed-embedded", DontListen: true, NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: cfg.StoreDir, JetStreamMaxMemory: cfg.MaxMemory, JetStreamMaxStore: cfg.MaxStore,
		})
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		b.srv.Start()
		if !b.srv.ReadyForConnections(10 * time.Second) {
			b.srv.Shutdown()
			return nil, errors.New("embedded nats: not ready after 10s")
		}
		b.nc, err = nats.Connect("", nats.InProcessServer(b.srv), nats.Name("photofeed"))
	} else {
		b.nc, err = nats.Connect(cfg.URL, append([]nats.Option{nats.Name("photofeed"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true)},
			connectionHandlers(cfg.OnConnection, cfg.Logger)...)...)
		// A first connection that failed is retried in the background and
		// fires no disconnect: whoever listens starts from the state now.
		if err == nil && cfg.OnConnection != nil {
			cfg.OnConnection(b.nc.IsConnected())
		}
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = replicasFor(b.nc)
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	for _, sc := range []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{eventSubjects}, Storage: jetstream.FileStorage,
			Duplicates: 10 * time.Minute, MaxAge: 7 * 24 * time.Hour, Replicas: cfg.Replicas},
		{Name: DeadLetterStream, Subjects: []string{deadSubject + ">"}, Storage: jetstream.FileStorage,
			MaxAge: 30 * 24 * time.Hour, Replicas: cfg.Replicas},
	} {
		if err := b.makeStream(ctx, sc); err != nil {
			b.Close()
			return nil, fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	return b, nil
}

// Errors of a JetStream cluster that is still forming (its servers have a
// meta leader but do not all know each other yet): a replicated stream
// cannot be placed for a few seconds.
const (
	clusterNoPeers   jetstream.ErrorCode = 10005 // JSClusterNoPeersErrF
	clusterNotAvail  jetstream.ErrorCode = 10008 // JSClusterNotAvailErr
	streamSetupLimit                     = 30 * time.Second
)

// clusterForming tells the errors of a cluster that is still forming:
// no peers to place the copies on, JetStream not available yet, or a
// request that got no answer in time while the caller still waits.
func clusterForming(ctx context.Context, err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == clusterNoPeers || apiErr.ErrorCode == clusterNotAvail
	}
	return ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout))
}

// makeStream creates or updates a stream, waiting out a cluster that is
// still forming (photofeed may start beside its NATS servers) with
// backoff, up to streamSetupLimit.
func (b *Bus) makeStream(ctx context.Context, sc jetstream.StreamConfig) error {
	backoff := resilience.Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	deadline := time.Now().Add(streamSetupLimit)
	for attempt := 0; ; attempt++ {
		_, err := b.js.CreateOrUpdateStream(ctx, sc)
		if err == nil || !clusterForming(ctx, err) {
			return err
		}
		delay := backoff.Delay(attempt)
		if time.Now().Add(delay).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() error {
	if b.nc != nil {
		b.nc.Drain()
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	return nil
}

// connectionHandlers tell onConnection, and the log, of the connection's
// losses and returns. A killed server is noticed at once (its socket
// closes); one cut off by the network at the client's next ping.
func connectionHandlers(onConnection func(bool), log *slog.Logger) []nats.Option {
	tell := func(connected bool) {
		if onConnection != nil {
			onConnection(connected)
		}
	}
	return []nats.Option{
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: Close, the node stopping
				log.Warn("event bus: connection lost; reconnecting", "err", err)
			}
			tell(false)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("event bus: reconnected", "server", nc.ConnectedUrlRedacted())
			tell(true)
		}),
		nats.ConnectHandler(func(*nats.Conn) { tell(true) }), // a first connection that had failed, made at last

		nats.ClosedHandler(func(*nats.Conn) { tell(false) }),
	}
}

// Connected reports whether the connection to the bus is up.
func (b *Bus) Connected() error {
	if status := b.nc.Status(); status != nats.CONNECTED {
		return fmt.Errorf("nats: %s", strings.ToLower(status.String()))
	}
	return nil
}

// Publish puts an outbox message on the stream with its id as the
// deduplication id: republishing after a crash is dropped by the server.
func (b *Bus) Publish(ctx context.Context, m outbox.Message) error {
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Body
	msg.Header.Set(SeqHeader, strconv.FormatInt(m.Seq, 10))
	if m.Source != "" {
		msg.Header.Set(SourceHeader, m.Source)
	}
	if m.TraceParent != "" {
		msg.Header.Set(TraceParentHeader, m.TraceParent)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID))
	return err
}

var _ outbox.Publisher = (*Bus)(nil)

// Delivery is one event handed to a consumer.
type Delivery struct {
	Subject      string
	Data         []byte
	OutboxSeq    int64
	OutboxSource string // the database of the outbox ("" with one)
	NumDelivered uint64
	TraceParent  string // the writing request's W3C trace context, or ""
}

// ConsumerConfig describes a durable consumer.
type ConsumerConfig struct {
	Name     string   // durable name
	Subjects []string // filter, e.g. photofeed.events.PhotoPosted
	// MaxDeliver is how often an event is tried before it is parked on
	// photofeed.deadletter.<Name> (default 5).
	MaxDeliver int
	Backoff    resilience.Backoff
	// InactiveThreshold removes the consumer after this long without a
	// subscriber (0: never): for per-node consumers of nodes that go away.
	InactiveThreshold time.Duration
}

var createRetry = resilience.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// Consume runs handle for each event until ctx ends; handle's error means
// "try again later". If the subscription ends first (its consumer was
// deleted, say) Consume returns why, and the consumer shows in Ready until
// a new Consume of it starts. Events are handled one at a time, in stream order.
//
// A server older than 2.10 filters a consumer by one subject only (and
// ignores a list of them). There a consumer of several subjects reads the
// whole stream and acks the events it does not want without handling
// them: one consumer, so stream order and the one-at-a-time handling hold.
func (b *Bus) Consume(ctx context.Context, cfg ConsumerConfig, handle func(context.Context, Delivery) error) error {
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 5
	}
	defer func() {
		if ctx.Err() != nil {
			b.setFailing(cfg.Name, nil) // stopped on purpose
		}
	}()
	cons, wanted, err := b.makeConsumer(ctx, cfg)
	if cons == nil {
		return err
	}
	end := &subscriptionEnd{suspect: make(chan struct{}, 1)}
	cc, err := cons.Consume(b.deliverTo(ctx, cfg, wanted, handle),
		// Short pulls: after a node of a cluster fails (and the consumer's
		// leader moves) a stale pull is replaced within seconds, not the
		// 30 s default.
		jetstream.PullExpiry(5*time.Second),
		jetstream.ConsumeErrHandler(end.record))
	if err != nil {
		err = fmt.Errorf("consume %s: %w", cfg.Name, err)
		b.setFailing(cfg.Name, err)
		return err
	}
	if !end.await(ctx, cons, cc) {
		return nil
	}
	// The subscription ended on its own (its consumer deleted, say): the
	// caller decides whether to start over.
	cause := end.cause()
	if ctx.Err() != nil {
		return nil
	}
	err = fmt.Errorf("consume %s: %w", cfg.Name, cause)
	b.setFailing(cfg.Name, err)
	return err
}

// deliverTo hands each wanted message to handle, one at a time: acked when
// handled, retried after cfg.Backoff when not, parked after cfg.MaxDeliver
// attempts.
func (b *Bus) deliverTo(ctx context.Context, cfg ConsumerConfig, wanted func(string) bool, handle func(context.Context, Delivery) error) jetstream.MessageHandler {
	return func(msg jetstream.Msg) {
		if wanted != nil && !wanted(msg.Subject()) {
			msg.Ack()
			return
		}
		md, err := msg.Metadata()
		if err != nil {
			msg.Nak()
			return
		}
		seq, _ := strconv.ParseInt(msg.Headers().Get(SeqHeader), 10, 64)
		d := Delivery{Subject: msg.Subject(), Data: msg.Data(), OutboxSeq: seq, OutboxSource: msg.Headers().Get(SourceHeader),
			NumDelivered: md.NumDelivered, TraceParent: msg.Headers().Get(TraceParentHeader)}
		if err := handle(ctx, d); err != nil {
			if int(md.NumDelivered) >= cfg.MaxDeliver {
				b.park(ctx, cfg.Name, msg, err)
				return
			}
			b.log.WarnContext(ctx, "event handling failed; will retry", "consumer", cfg.Name, "subject", d.Subject,
				"attempt", md.NumDelivered, "err", err)
			msg.NakWithDelay(cfg.Backoff.Delay(int(md.NumDelivered) - 1))
			return
		}
		msg.Ack()
	}
}

// subscriptionEnd is why a subscription ended. A consumer deleted before
// its first pull is never told so: its pulls go unanswered (no
// responders, no heartbeat) and the client retries them for good. Such
// errors have the consumer looked up (suspect).
type subscriptionEnd struct {
	err     atomic.Pointer[error] // the error that ended the subscription
	suspect chan struct{}
}

func (e *subscriptionEnd) record(_ jetstream.ConsumeContext, err error) {
	e.err.Store(&err)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat) {
		select { // the consumer may be gone: have it looked up
		case e.suspect <- struct{}{}:
		default:
		}
	}
}

// await returns once the subscription has ended, true, or ctx has, false
// (the subscription then stopped).
func (e *subscriptionEnd) await(ctx context.Context, cons jetstream.Consumer, cc jetstream.ConsumeContext) bool {
	for {
		select {
		case <-ctx.Done():
			cc.Stop()
			return false
		case <-cc.Closed():
			return true
		case <-e.suspect:
			if _, err := cons.Info(ctx); errors.Is(err, jetstream.ErrConsumerNotFound) {
				e.err.Store(&err)
				cc.Stop()
				<-cc.Closed()
				return true
			}
		}
	}
}

func (e *subscriptionEnd) cause() error {
	if last := e.err.Load(); last != nil {
		return *last
	}
	return errors.New("subscription closed")
}

// makeConsumer makes (or finds) cfg's durable consumer, with retries:
// while a cluster elects a leader, or the server is briefly away, creation
// fails, and a consumer that gave up would leave its events unhandled for
// good. wanted, when not nil, is the filter the server could not apply.
// A nil consumer means ctx ended.
func (b *Bus) makeConsumer(ctx context.Context, cfg ConsumerConfig) (_ jetstream.Consumer, wanted func(string) bool, _ error) {
	jc := jetstream.ConsumerConfig{
		Durable: cfg.Name, AckPolicy: jetstream.AckExplicitPolicy,
		// A message fetched but not handled when a worker stops is only
		// redelivered after AckWait, and with one ack pending the stream
		// waits that long: keep it short (a 10,000-follower fan-out takes
		// ~0.3 s).
		MaxDeliver: -1, AckWait: 5 * time.Second, MaxAckPending: 1,
		InactiveThreshold: cfg.InactiveThreshold,
	}
	if len(cfg.Subjects) == 1 {
		jc.FilterSubject = cfg.Subjects[0] // what every server version takes
	} else {
		jc.FilterSubjects = cfg.Subjects
	}
	for attempt := 0; ; attempt++ {
		cons, err := b.js.CreateOrUpdateConsumer(ctx, EventsStream, jc)
		if err == nil {
			b.setFailing(cfg.Name, nil)
			return cons, wanted, nil
		}
		if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) && wanted == nil {
			// The server made the consumer without a filter: take it so
			// and filter here.
			b.log.InfoContext(ctx, "this nats-server filters consumers by one subject only (2.10 takes several); the consumer reads every event and skips the others",
				"consumer", cfg.Name, "server", b.nc.ConnectedServerVersion())
			jc.FilterSubjects = nil
			wanted = subjectFilter(cfg.Subjects)
			continue
		}
		if ctx.Err() != nil {
			return nil, nil, nil
		}
		b.setFailing(cfg.Name, fmt.Errorf("consumer %s: %w", cfg.Name, err))
		b.log.WarnContext(ctx, "cannot create consumer; retrying", "consumer", cfg.Name, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return nil, nil, nil
		case <-time.After(createRetry.Delay(attempt)):
		}
	}
}

// subjectFilter matches a subject against subjects, wildcards included,
// as the server matches a consumer's filter subjects.
func subjectFilter(subjects []string) func(string) bool {
	return func(subject string) bool {
		for _, f := range subjects {
			if server.SubjectMatchesFilter(subject, f) {
				return true
			}
		}
		return false
	}
}

func (b *Bus) setFailing(consumer string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.failing, consumer)
		return
	}
	if b.failing == nil {
		b.failing = map[string]error{}
	}
	b.failing[consumer] = err
}

// Ready reports the consumers that could not be made (still retrying) or
// that stopped: events that are not being handled.
func (b *Bus) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, err := range b.failing {
		errs = append(errs, err)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// park moves an event that keeps failing to the dead-letter stream and
// acks it, so the events behind it flow again.
func (b *Bus) park(ctx context.Context, consumer string, msg jetstream.Msg, cause error) {
	dead := nats.NewMsg(deadSubject + consumer)
	dead.Data = msg.Data()
	dead.Header.Set("Photofeed-Subject", msg.Subject())
	dead.Header.Set("Photofeed-Error", strings.ReplaceAll(cause.Error(), "\n", " "))
	if seq := msg.Headers().Get(SeqHeader); seq != "" {
		dead.Header.Set(SeqHeader, seq)
		dead.Header.Set(SourceHeader, msg.Headers().Get(SourceHeader))
	}
	if _, err := b.js.PublishMsg(context.WithoutCancel(ctx), dead); err != nil {
		b.log.ErrorContext(ctx, "parking event failed; it will be redelivered", "consumer", consumer, "err", err)
		msg.NakWithDelay(time.Second)
		return
	}
	b.log.ErrorContext(ctx, "event parked on the dead-letter stream", "consumer", consumer, "subject", msg.Subject(), "err", cause)
	msg.Term()
}

// DeadLetters returns how many events consumer has parked.
func (b *Bus) DeadLetters(ctx context.Context, consumer string) (uint64, error) {
	s, err := b.js.Stream(ctx, DeadLetterStream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(deadSubject+consumer))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[deadSubject+consumer], nil
}

// Broadcast publishes data on a plain NATS subject to every instance
// listening now: at most once, no stream, for messages whose loss only
// costs freshness (cache invalidations; TTLs bound the rest).
func (b *Bus) Broadcast(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

// Listen calls fn with every Broadcast on subject until stop is called.
func (b *Bus) Listen(subject string, fn func(data []byte)) (stop func(), err error) {
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", subject, err)
	}
	// The subscription is live once the server has it: flush, so a
	// Broadcast right after Listen returns is not missed.
	if err := b.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("listen %s: %w", subject, err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// replicasFor sizes streams to the cluster the connection sees: three
// copies (a quorum survives one node) when there are three nodes or more.
func replicasFor(nc *nats.Conn) int {
	if len(nc.Servers()) >= 3 {
		return 3
	}
	return 1
}

// StreamReplicas is how many copies the cluster keeps of the events stream.
func (b *Bus) StreamReplicas(ctx context.Context) (int, error) {
	s, err := b.js.Stream(ctx, EventsStream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", EventsStream, err)
	}
	return s.CachedInfo().Config.Replicas, nil
}

// ConsumerLag is how far one durable consumer of the events stream is
// behind: Pending events not yet delivered to it, AckPending delivered
// but not yet handled.
type ConsumerLag struct {
	Consumer   string
	Pending    uint64
	AckPending int
}

// Lags reports every durable consumer of the events stream, as the
// server holds them (those of other nodes too): one request for the
// list, for a scrape or for one consumer's lag (a consumer that does not
// exist is not in it).
func (b *Bus) Lags(ctx context.Context) ([]ConsumerLag, error) {
	s, err := b.js.Stream(ctx, EventsStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", EventsStream, err)
	}
	list := s.ListConsumers(ctx)
	var out []ConsumerLag
	for info := range list.Info() {
		out = append(out, ConsumerLag{Consumer: info.Name, Pending: info.NumPending, AckPending: info.NumAckPending})
	}
	if err := list.Err(); err != nil {
		return nil, fmt.Errorf("consumers of %s: %w", EventsStream, err)
	}
	return out, nil
}

// Servers says which NATS server the connection is on (credentials
// redacted; "" while it is not connected) and which servers of the
// cluster it knows of, those it was given and those the cluster told it
// about.
func (b *Bus) Servers() (connected string, known []string) {
	if b.nc.IsConnected() {
		connected = b.nc.ConnectedUrlRedacted()
	}
	return connected, b.nc.Servers()
}

// Announcer is a plain NATS connection, without JetStream, for a node
// that only broadcasts (a gateway's heartbeats): it makes no streams and
// waits for no cluster. It reconnects forever, from a first connection
// that failed too, and never holds its node up.
type Announcer struct{ nc *nats.Conn }

// DialAnnouncer connects to the NATS servers at url (comma-separated).
func DialAnnouncer(url string) (*Announcer, error) {
	nc, err := nats.Connect(url, nats.Name("photofeed"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	return &Announcer{nc: nc}, nil
}

// Broadcast publishes data on subject, as Bus.Broadcast does.
func (a *Announcer) Broadcast(subject string, data []byte) error { return a.nc.Publish(subject, data) }

func (a *Announcer) Close() error {
	a.nc.Close()
	return nil
}
