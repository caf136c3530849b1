package lambdaext

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"go.opentelemetry.io/collector/otelcol"
)

const (
	// Error types reported to Lambda (format Extension.Reason).
	errorTypeConfig   = "Extension.ConfigError"
	errorTypeStart    = "Extension.StartError"
	errorTypeExited   = "Extension.CollectorExited"
	errorTypeEventAPI = "Extension.EventAPIError"

	// shutdownMargin is kept free before the SHUTDOWN deadline so that the
	// process has exited before Lambda kills it.
	shutdownMargin = 150 * time.Millisecond
	// fallbackShutdownBudget is used when a SHUTDOWN event carries no deadline
	// or /event/next fails.
	fallbackShutdownBudget = 1500 * time.Millisecond
	// statePollInterval is how often the collector state is checked at start;
	// short, because /event/next (the end of the extension's init) waits on it.
	statePollInterval = time.Millisecond
)

// collectorService is the part of *otelcol.Collector the lifecycle uses; tests
// substitute a fake.
type collectorService interface {
	DryRun(ctx context.Context) error
	Run(ctx context.Context) error
	GetState() otelcol.State
	Shutdown()
}

// lifecycle runs the collector as a Lambda extension.
type lifecycle struct {
	name         string
	configURI    string
	client       *extensionClient
	newCollector func() (collectorService, error)
	onRunning    func() // called once the collector runs (may be nil)
	// listenHandshake opens the flush handshake's listener (nil: no
	// handshake, INVOKE never waits).
	listenHandshake func() (net.Listener, error)
	// flushTimeout bounds the wait for an invocation's done.
	flushTimeout time.Duration
	// handshake is the handshake's state (nil: a new one); tests inspect it.
	handshake *handshake
	now       func() time.Time
	logf      func(format string, args ...any)
}

// runExtension is the entry point when Lambda starts the binary.
func runExtension(name string, factories factoriesFunc) int {
	logger := func(format string, args ...any) { logf(name, format, args...) }
	runtimeAPI := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if runtimeAPI == "" {
		logger("AWS_LAMBDA_RUNTIME_API is not set, so this is not a Lambda execution environment; " +
			"to run the collector directly use: " + name + " --config=file:/path/config.yaml")
		return 1
	}
	uri := configURI()
	settleRuntime := runtimeSettings(os.Getenv)
	timeout, err := flushTimeout(os.Getenv)
	if err != nil {
		logger("%v", err)
	}
	endpoint := handshakeEndpoint(os.Getenv)
	l := &lifecycle{
		name:      name,
		client:    newExtensionClient(runtimeAPI, name),
		configURI: uri,
		newCollector: func() (collectorService, error) {
			return otelcol.NewCollector(collectorSettings(name, uri, factories))
		},
		onRunning:       settleRuntime,
		listenHandshake: func() (net.Listener, error) { return net.Listen("tcp", endpoint) },
		flushTimeout:    timeout,
		now:             time.Now,
		logf:            logger,
	}
	return l.run(context.Background())
}

// run registers the extension, starts the collector and follows the Lambda
// event loop. It returns the process exit code.
func (l *lifecycle) run(ctx context.Context) int {
	// Cancelled on return, which also aborts a pending /event/next call.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Listening before registering: Lambda may start the runtime as soon as
	// every extension has registered, and the function registers for the
	// handshake during its init. A listener costs microseconds, not start time.
	hs := l.startHandshake()
	if hs != nil {
		defer hs.close()
	}
	if err := l.client.register(ctx); err != nil {
		l.logf("cannot register with the Lambda Extensions API: %v", err)
		return 1
	}

	l.logf("loading collector configuration from %s", l.configURI)
	col, err := l.newCollector()
	if err != nil {
		return l.failInit(ctx, errorTypeConfig, fmt.Errorf("creating collector: %w", err))
	}
	// Run resolves, validates and starts in one pass. Validating first with
	// DryRun would resolve and decode the whole configuration twice on every
	// cold start (~10% of the extension's start-up CPU), so the failure is
	// classified only once Run has failed: see failStart.
	runDone := make(chan error, 1)
	go func() { runDone <- col.Run(ctx) }()
	if err := waitRunning(ctx, col, runDone); err != nil {
		return l.failStart(ctx, err)
	}
	if l.onRunning != nil {
		l.onRunning()
	}
	l.logf("collector running; waiting for Lambda events")

	type nextResult struct {
		ev  extensionEvent
		err error
	}
	events := make(chan nextResult, 1)
	for {
		// The first /event/next call also tells Lambda that this extension
		// has finished its init. After an INVOKE the extension returns to
		// /event/next once the function's spans of that invocation are in the
		// collector (the flush handshake) or at once if the function does not
		// take part; the collector exports them in the background.
		go func() {
			ev, err := l.client.next(ctx)
			events <- nextResult{ev, err}
		}()
		select {
		case r := <-events:
			if r.err != nil {
				l.logf("lost the Lambda Extensions API: %v", r.err)
				l.shutdown(col, runDone, l.now().Add(fallbackShutdownBudget))
				return 1
			}
			switch r.ev.EventType {
			case eventInvoke:
				if err := l.awaitFlush(ctx, hs, r.ev, runDone); err != nil {
					return l.collectorExited(ctx, err)
				}
				continue
			case eventShutdown:
				deadline := l.now().Add(fallbackShutdownBudget)
				if r.ev.DeadlineMs > 0 {
					deadline = time.UnixMilli(r.ev.DeadlineMs)
				}
				l.logf("SHUTDOWN (%s): flushing telemetry", r.ev.ShutdownReason)
				l.shutdown(col, runDone, deadline)
				return 0
			default:
				l.logf("ignoring unknown Lambda event %q", r.ev.EventType)
			}
		case err := <-runDone:
			return l.collectorExited(ctx, err)
		}
	}
}

// collectorExited reports a collector that stopped after init (err is what
// Run returned) and returns the exit code.
func (l *lifecycle) collectorExited(ctx context.Context, err error) int {
	if err == nil {
		err = errors.New("collector stopped unexpectedly")
	}
	l.logf("collector exited: %v", err)
	if rerr := l.client.exitError(ctx, errorTypeExited, err); rerr != nil {
		l.logf("cannot report exit error: %v", rerr)
	}
	return 1
}

// handshakeService is the handshake's state and its server.
type handshakeService struct {
	*handshake
	server *handshakeServer
}

func (s *handshakeService) close() { s.server.close() }

// startHandshake listens for the function's handshake; nil if it is off or
// cannot listen (then no INVOKE waits, and the function, whose registration
// fails, flushes synchronously as without the handshake).
func (l *lifecycle) startHandshake() *handshakeService {
	if l.listenHandshake == nil || l.flushTimeout <= 0 {
		return nil
	}
	listener, err := l.listenHandshake()
	if err != nil {
		l.logf("flush handshake off: %v; the function's spans still reach the collector, "+
			"but each invocation waits for its export (set %s to a free host:port)", err, handshakeEndpointEnv)
		return nil
	}
	h := l.handshake
	if h == nil {
		h = newHandshake()
	}
	return &handshakeService{handshake: h, server: serveHandshake(listener, h)}
}

// awaitFlush holds the INVOKE ev until the function's done for it has
// arrived, or until the flush deadline. It returns a non-nil error only if the
// collector stopped meanwhile (what Run returned, or a placeholder).
func (l *lifecycle) awaitFlush(ctx context.Context, hs *handshakeService, ev extensionEvent, runDone <-chan error) error {
	if hs == nil || ev.RequestID == "" {
		return nil
	}
	arrived := hs.expect(ev.RequestID)
	if arrived == nil { // no runtime registered: nothing will come
		return nil
	}
	defer hs.stopWaiting()
	start := l.now()
	wait := flushDeadline(start, l.flushTimeout, ev.DeadlineMs).Sub(start)
	if wait <= 0 {
		select {
		case <-arrived:
		default:
			l.logf("flush handshake: no done for request %s and no time left before its deadline; not waiting", ev.RequestID)
		}
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-arrived:
	case <-timer.C:
		l.logf("flush handshake: no done for request %s within %s; asking Lambda for the next event "+
			"(spans of that invocation still in the function may leave later or be lost)",
			ev.RequestID, wait.Round(time.Millisecond))
	case err := <-runDone:
		if err == nil {
			err = errors.New("collector stopped unexpectedly")
		}
		return err
	case <-ctx.Done():
	}
	return nil
}

// failStart reports a collector that did not reach Running: a configuration
// the collector rejects (checked with DryRun on a fresh collector, so the
// message is the validation error itself) is an Extension.ConfigError,
// anything else (a port in use, a component that cannot start) an
// Extension.StartError.
func (l *lifecycle) failStart(ctx context.Context, runErr error) int {
	if checker, err := l.newCollector(); err == nil {
		if err := checker.DryRun(ctx); err != nil {
			return l.failInit(ctx, errorTypeConfig, fmt.Errorf("invalid collector configuration: %w", err))
		}
	}
	return l.failInit(ctx, errorTypeStart, fmt.Errorf("starting collector: %w", runErr))
}

// failInit reports an init failure to Lambda and returns the exit code.
func (l *lifecycle) failInit(ctx context.Context, errorType string, err error) int {
	l.logf("%s: %v", errorType, err)
	if rerr := l.client.initError(ctx, errorType, err); rerr != nil {
		l.logf("cannot report init error: %v", rerr)
	}
	return 1
}

// waitRunning waits until the collector is running or Run has returned.
func waitRunning(ctx context.Context, col collectorService, runDone <-chan error) error {
	ticker := time.NewTicker(statePollInterval)
	defer ticker.Stop()
	for {
		select {
		case err := <-runDone:
			if err == nil {
				err = errors.New("collector stopped during start")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			if col.GetState() == otelcol.StateRunning {
				return nil
			}
		}
	}
}

// shutdown stops the collector, which flushes the batch processor and drains
// the exporter queues, and waits for it until deadline minus shutdownMargin.
func (l *lifecycle) shutdown(col collectorService, runDone <-chan error, deadline time.Time) {
	start := l.now()
	budget := deadline.Sub(start) - shutdownMargin
	if budget < 0 {
		budget = 0
	}
	stopped := make(chan struct{})
	go func() {
		col.Shutdown() // blocks until Run has returned
		close(stopped)
	}()
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case <-stopped:
		select {
		case err := <-runDone:
			if err != nil {
				l.logf("collector stopped with error: %v", err)
			}
		default:
		}
		l.logf("collector stopped after %s", l.now().Sub(start).Round(100*time.Microsecond))
	case <-timer.C:
		l.logf("SHUTDOWN deadline reached after %s; exiting before the collector finished, unsent telemetry is lost",
			l.now().Sub(start).Round(100*time.Microsecond))
	}
}
