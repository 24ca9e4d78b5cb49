package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
)

// healthPath is where an automanaged member describes itself.
const healthPath = "/_health"

// healthInfo is what an automanaged member's health endpoint answers.
type healthInfo struct {
	Cluster string `json:"cluster"`
	ID      string `json:"id"`
	Address string `json:"address"`
}

// autoProvider is the automanaged provider: a health endpoint of its own
// and a poll of every seed's endpoint each refresh. A seed that does not
// answer within the timeout is out of the topology until it answers again.
type autoProvider struct {
	m        *Member
	ln       net.Listener
	srv      *http.Server
	client   *http.Client
	seeds    []string
	refresh  time.Duration
	timeout  time.Duration
	n        atomic.Int64
	rejoinCh chan string
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var _ provider = (*autoProvider)(nil)

func newAutoProvider(m *Member, ln net.Listener, p Automanaged) *autoProvider {
	a := &autoProvider{
		m:        m,
		ln:       ln,
		seeds:    p.Seeds,
		refresh:  p.Refresh,
		timeout:  p.Timeout,
		rejoinCh: make(chan string, 1),
		quit:     make(chan struct{}),
	}
	if len(a.seeds) == 0 {
		a.seeds = []string{ln.Addr().String()}
	}
	if a.refresh == 0 {
		a.refresh = DefaultRefresh
	}
	if a.timeout == 0 {
		a.timeout = DefaultHealthTimeout
	}
	a.client = &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: a.timeout}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     10 * a.refresh,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(healthInfo{Cluster: m.cfg.clusterName, ID: m.ID(), Address: m.sys.Address()})
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: a.timeout}
	return a
}

// StartMember serves the health endpoint and starts the polls. It is
// called by protoactor's cluster once the remote listens.
func (a *autoProvider) StartMember(*pcluster.Cluster) error {
	a.m.setIncarnation(incarnationID(a.m.sys.ID, a.n.Add(1)), "started")
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.m.cfg.logger.Error("automanaged health endpoint stopped", "error", err)
		}
	}()
	go a.loop()
	return nil
}

// StartClient is not supported: every Drover member takes part.
func (a *autoProvider) StartClient(*pcluster.Cluster) error {
	return errors.New("cluster: a Drover member cannot start as a client")
}

// Shutdown stops the provider at once (protoactor's interface).
func (a *autoProvider) Shutdown(bool) error { return a.stop(context.Background()) }

func (a *autoProvider) rejoin(why string) {
	select {
	case a.rejoinCh <- why:
	default:
	}
}

func (a *autoProvider) status() providerStatus { return providerStatus{registered: true} }

func (a *autoProvider) dropBound() time.Duration { return a.timeout }

func (a *autoProvider) stop(context.Context) error {
	a.stopOnce.Do(func() {
		close(a.quit)
		_ = a.srv.Close()
		a.wg.Wait()
		a.client.CloseIdleConnections()
	})
	return nil
}

// loop polls the seeds every refresh and sends the topology when it
// changed.
func (a *autoProvider) loop() {
	defer a.wg.Done()
	t := time.NewTicker(a.refresh)
	defer t.Stop()
	var last []topoMember
	for {
		start := time.Now()
		members := a.poll()
		if time.Since(start) > a.timeout+a.timeout/2 {
			// This process stalled during the poll (it was paused): the
			// seeds' silence is its own. Ask again.
			continue
		}
		if !slices.Equal(members, last) {
			last = members
			a.m.sys.Root.Send(a.m.ctl, &topology{members: members, why: "stopped answering its health endpoint"})
		}
		select {
		case <-a.quit:
			return
		case why := <-a.rejoinCh:
			a.m.setIncarnation(incarnationID(a.m.sys.ID, a.n.Add(1)), why)
		case <-t.C:
		}
	}
}

// poll asks every seed at once who it is, each within the timeout.
func (a *autoProvider) poll() []topoMember {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	go func() {
		select {
		case <-a.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	out := make([]*topoMember, len(a.seeds))
	var wg sync.WaitGroup
	for i, seed := range a.seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if info, ok := a.ask(ctx, seed); ok {
				out[i] = &topoMember{id: info.ID, address: info.Address}
			}
		}()
	}
	wg.Wait()
	members := make([]topoMember, 0, len(out))
	for _, tm := range out {
		if tm != nil {
			members = append(members, *tm)
		}
	}
	return members
}

func (a *autoProvider) ask(ctx context.Context, seed string) (healthInfo, bool) {
	var info healthInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+seed+healthPath, nil)
	if err != nil {
		return info, false
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return info, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return info, false
	}
	return info, info.Cluster == a.m.cfg.clusterName && info.ID != "" && info.Address != ""
}
