package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// etcdEntry is the value of a member's key.
type etcdEntry struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Name    string `json:"name"`
}

// etcdProvider is the etcd provider. Each incarnation of the member has a
// key of its own, <base>/<cluster>/<incarnation id>, under a lease of its
// own. Two goroutines run it: the keeper renews the lease every heartbeat
// and, when etcd says the lease is gone (it expired while the member was
// paused or cut off), registers the member again under its next
// incarnation; the watcher lists the keys and follows their changes, and
// lists them again whenever the watch breaks. While etcd does not answer,
// both keep trying and the member keeps the last topology it saw.
//
// Unlike protoactor's etcd provider it has no unguarded shutdown flag (a
// data race with its keep-alive goroutine), deregisters within the ctx it
// is given instead of retrying for ever, and never registers a lapsed
// member again under the same id.
type etcdProvider struct {
	m         *Member
	cfg       clientv3.Config
	endpoint  string
	prefix    string // <base>/<cluster>/
	ttl       time.Duration
	heartbeat time.Duration
	request   time.Duration

	client *clientv3.Client
	n      atomic.Int64
	// lease of the current incarnation; 0 while not registered. Written
	// by the keeper (and StartMember before it runs).
	lease    atomic.Int64
	contact  atomic.Int64 // unix nanoseconds of etcd's last answer
	rejoinCh chan string
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
}

var _ provider = (*etcdProvider)(nil)

func newEtcdProvider(m *Member, p Etcd) *etcdProvider {
	e := &etcdProvider{
		m:         m,
		endpoint:  p.Endpoints[0],
		prefix:    strings.TrimSuffix(cmp.Or(p.BaseKey, DefaultEtcdBaseKey), "/") + "/" + m.cfg.clusterName + "/",
		ttl:       cmp.Or(p.LeaseTTL, DefaultLeaseTTL),
		request:   cmp.Or(p.RequestTimeout, DefaultEtcdRequest),
		rejoinCh:  make(chan string, 1),
		heartbeat: p.Heartbeat,
	}
	if e.heartbeat == 0 {
		e.heartbeat = e.ttl / 3
	}
	dial := cmp.Or(p.DialTimeout, DefaultEtcdDial)
	e.cfg = clientv3.Config{
		Endpoints:   p.Endpoints,
		DialTimeout: dial,
		TLS:         p.TLS,
		Username:    p.Username,
		Password:    p.Password,
		Logger:      zap.NewNop(),
		// gRPC's default backoff grows to 2 minutes: after an outage the
		// member would come back long after its lease expired.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: e.heartbeat},
			MinConnectTimeout: e.request,
		})},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// StartMember connects to etcd, registers the member's first incarnation
// and starts the keeper and the watcher. It is called by protoactor's
// cluster once the remote listens (the remote sets gRPC's global logger as
// it starts, which would race with the goroutines of an earlier client).
func (e *etcdProvider) StartMember(*pcluster.Cluster) error {
	client, err := clientv3.New(e.cfg)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	e.client = client
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.DialTimeout)
	_, err = client.Status(ctx, e.endpoint)
	cancel()
	if err != nil {
		_ = client.Close()
		e.client = nil
		return fmt.Errorf("etcd at %s does not answer: %w", e.endpoint, err)
	}
	if err := e.register("started"); err != nil {
		_ = client.Close()
		e.client = nil
		return fmt.Errorf("etcd at %s: register: %w", e.endpoint, err)
	}
	e.wg.Add(2)
	go e.keep()
	go e.watch()
	return nil
}

// StartClient is not supported: every Drover member takes part.
func (e *etcdProvider) StartClient(*pcluster.Cluster) error {
	return errors.New("cluster: a Drover member cannot start as a client")
}

// Shutdown stops the provider, deregistering within a request timeout
// (protoactor's interface; Member.Shutdown calls stop with its ctx).
func (e *etcdProvider) Shutdown(bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.request)
	defer cancel()
	return e.stop(ctx)
}

func (e *etcdProvider) rejoin(why string) {
	select {
	case e.rejoinCh <- why:
	default:
	}
}

func (e *etcdProvider) status() providerStatus {
	return providerStatus{
		registered:   e.lease.Load() != 0,
		contact:      time.Unix(0, e.contact.Load()),
		contactBound: e.ttl,
		coordinator:  "etcd at " + e.endpoint,
	}
}

func (e *etcdProvider) dropBound() time.Duration { return e.ttl }

// stop ends the keeper and the watcher, then revokes the lease (which
// deletes the member's key) unless ctx ends or a request timeout passes
// first: then the lease expires on its own within its TTL.
func (e *etcdProvider) stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		e.cancel()
		e.wg.Wait()
		if e.client == nil {
			return
		}
		if lease := clientv3.LeaseID(e.lease.Swap(0)); lease != 0 {
			rctx, cancel := context.WithTimeout(ctx, e.request)
			_, err := e.client.Revoke(rctx, lease)
			cancel()
			if err != nil {
				// Not wrapped: the member did leave; only its key lingers.
				e.stopErr = fmt.Errorf("etcd: could not revoke the member's lease, its key goes when the lease expires within %s: %v", e.ttl, err)
			}
		}
		_ = e.client.Close()
	})
	return e.stopErr
}

// register grants a lease and puts the key of the member's next
// incarnation under it, then tells the member.
func (e *etcdProvider) register(why string) error {
	ctx, cancel := context.WithTimeout(e.ctx, e.request)
	defer cancel()
	grant, err := e.client.Grant(ctx, int64(e.ttl/time.Second))
	if err != nil {
		return err
	}
	id := incarnationID(e.m.sys.ID, e.n.Load()+1)
	val, _ := json.Marshal(etcdEntry{ID: id, Address: e.m.sys.Address(), Name: e.m.cfg.name})
	if _, err := e.client.Put(ctx, e.prefix+id, string(val), clientv3.WithLease(grant.ID)); err != nil {
		rctx, rcancel := context.WithTimeout(e.ctx, e.request)
		_, _ = e.client.Revoke(rctx, grant.ID)
		rcancel()
		return err
	}
	e.n.Add(1)
	e.lease.Store(int64(grant.ID))
	e.touch()
	e.m.setIncarnation(id, why)
	return nil
}

func (e *etcdProvider) touch() { e.contact.Store(time.Now().UnixNano()) }

// keep renews the lease every heartbeat; when etcd says it is gone, or
// the member asks to rejoin, it registers the next incarnation (after
// revoking the lease it had, so that the old key goes at once).
func (e *etcdProvider) keep() {
	defer e.wg.Done()
	t := time.NewTicker(e.heartbeat)
	defer t.Stop()
	pending := "" // why the member must register again; "" while registered
	for {
		select {
		case <-e.ctx.Done():
			return
		case why := <-e.rejoinCh:
			if pending == "" {
				e.drop()
				pending = why
			}
		case <-t.C:
		}
		if pending != "" {
			if err := e.register(pending); err != nil {
				e.m.cfg.logger.Debug("etcd: register again", "error", err)
				continue
			}
			pending = ""
			continue
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.request)
		_, err := e.client.KeepAliveOnce(ctx, clientv3.LeaseID(e.lease.Load()))
		cancel()
		switch {
		case err == nil:
			e.touch()
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			e.touch()
			e.lease.Store(0)
			pending = "its lease expired"
			e.m.cfg.logger.Debug("etcd: the member's lease expired; registering a new incarnation")
			if err := e.register(pending); err == nil {
				pending = ""
			}
		default:
			e.m.cfg.logger.Debug("etcd: renew the lease", "error", err)
		}
	}
}

// drop revokes the current lease, best effort.
func (e *etcdProvider) drop() {
	lease := clientv3.LeaseID(e.lease.Swap(0))
	if lease == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.request)
	_, _ = e.client.Revoke(ctx, lease)
	cancel()
}

// watch keeps the topology: a listing, then the changes from the
// listing's revision on; a listing again whenever the watch breaks.
func (e *etcdProvider) watch() {
	defer e.wg.Done()
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	for e.ctx.Err() == nil {
		members, rev, err := e.list()
		if err != nil {
			e.m.cfg.logger.Debug("etcd: list members", "error", err)
			retry.Reset(e.heartbeat)
			select {
			case <-e.ctx.Done():
				return
			case <-retry.C:
			}
			continue
		}
		e.publish(members)
		// WithRequireLeader ends the watch when etcd loses its leader, so
		// that a listing follows its return.
		wch := e.client.Watch(clientv3.WithRequireLeader(e.ctx), e.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for wr := range wch {
			if wr.Err() != nil {
				e.m.cfg.logger.Debug("etcd: watch", "error", wr.Err())
				break
			}
			e.touch()
			for _, ev := range wr.Events {
				key := string(ev.Kv.Key)
				switch ev.Type {
				case clientv3.EventTypePut:
					if tm, ok := e.member(ev.Kv.Value, ev.Kv.CreateRevision); ok {
						members[key] = tm
					}
				case clientv3.EventTypeDelete:
					delete(members, key)
				}
			}
			e.publish(members)
		}
	}
}

// list reads every member's key.
func (e *etcdProvider) list() (map[string]topoMember, int64, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.request)
	defer cancel()
	resp, err := e.client.Get(ctx, e.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, err
	}
	e.touch()
	members := make(map[string]topoMember, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if tm, ok := e.member(kv.Value, kv.CreateRevision); ok {
			members[string(kv.Key)] = tm
		}
	}
	return members, resp.Header.Revision, nil
}

func (e *etcdProvider) member(val []byte, rev int64) (topoMember, bool) {
	var entry etcdEntry
	if err := json.Unmarshal(val, &entry); err != nil || entry.ID == "" || entry.Address == "" {
		return topoMember{}, false
	}
	return topoMember{id: entry.ID, address: entry.Address, rev: rev}, true
}

func (e *etcdProvider) publish(members map[string]topoMember) {
	list := make([]topoMember, 0, len(members))
	for _, tm := range members {
		list = append(list, tm)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].rev < list[j].rev })
	e.m.sys.Root.Send(e.m.ctl, &topology{members: list, why: "its key in etcd is gone (its lease expired or it deregistered)"})
}
