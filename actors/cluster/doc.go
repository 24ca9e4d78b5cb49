// Package cluster lets Drover nodes on several machines share work: each
// Member is an actors.Node on an actor system with protoactor's remote and
// cluster started; members find each other through a protoactor cluster
// provider, report their load to each other, route tasks to each other,
// and fail tasks over when a member is lost.
//
//	m, err := cluster.NewMember(
//		cluster.WithName("worker-1"),
//		cluster.WithBind("10.0.0.1:7000"),
//		cluster.WithProvider(cluster.Automanaged{Port: 7001, Seeds: []string{"10.0.0.1:7001", "10.0.0.2:7001"}}),
//		cluster.WithTLS(tlsConfig),
//		cluster.WithNodeOptions(actors.WithPool(actors.PoolConfig{Name: "work", Kind: actors.KindIO}),
//			actors.WithHandler("resize", resize)),
//	)
//	...
//	f, err := m.Submit(ctx, actors.Task{Type: "resize", Pool: "work", Payload: img}, cluster.Idempotent())
//	res, err := f.Wait(ctx)
//
// # Membership
//
// Membership comes from a provider: Automanaged, the embedded default
// (every member serves a small HTTP health endpoint and polls those of a
// static seed list; nothing else runs; a dead member is dropped within
// Refresh + Timeout, 1 s with the defaults), or Etcd for production
// (each member holds a key under a lease of LeaseTTL, 3 s by default, and
// watches the others'). Both are Drover's own: they implement protoactor's
// ClusterProvider but never feed protoactor's member list, whose block list
// keeps out for good every member id that ever left, and whose departures
// close the connection to whatever process has the departed member's
// address by then.
//
// Membership is keyed by incarnation. Each incarnation of a member has an
// id of its own, "<actor system id>.<n>" (Member.ID): a new process is a
// new incarnation, and a member shut out of the cluster while it lives
// joins again as its next one. A report or an event that belongs to
// another incarnation than the one the topology names at an address is
// ignored: a dead process's last report never attaches to its successor,
// and a connection attempt to the dead process that fails later does not
// drop the new one. Results go back to one process's collector, so a
// result for a dead process never reaches its successor.
//
// A member the provider names is not yet a member for Drover: it joins
// (EventJoined) once this member's remote has connected to it and a load
// report of that incarnation has arrived over the remote. Both travel over
// gRPC, which WithTLS secures with mutual TLS, so a node without a valid
// certificate is named by the provider at most, and never takes or sends
// work (View shows it as "joining").
//
// A member leaves (EventLeft) when the provider drops it, when this
// member's connection to it ends, when it says it is leaving, or when it
// sent no report for the lost bound (WithLostAfter; twice the stale bound
// by default) whatever the provider says (etcd may be unreachable).
//
// # Self-healing
//
//   - With etcd, a member renews its lease every Heartbeat. When etcd says
//     the lease is gone (the member was paused, or cut off from etcd, for
//     longer than LeaseTTL, and the others dropped it), the member
//     registers again at once as a new incarnation. While etcd does not
//     answer, members keep the membership they saw and go on working with
//     each other; etcd renews every lease when it starts, so an outage of
//     any length ends with every live member in one view again within
//     about a heartbeat of etcd's return.
//   - A member that comes back from a pause gives the others a fresh stale
//     bound: it does not drop them for its own silence.
//   - A member that hears from none of the members its topology names for
//     the lost bound, while one of them answers a probe, counts itself
//     shut out and rejoins as a new incarnation.
//
// Member.Health says whether the member takes part as it should and, if
// not, why: not registered, the coordinator silent for longer than the
// lease, shut out, or leaving. drover run's /readyz reports it.
//
// # Load reports
//
// Every member sends a LoadReport (protos/drover_cluster.proto) to every
// other member's control actor ("drover-cluster") each WithReportEvery
// interval (200 ms by default): per pool its kind, workers, tasks in
// flight, queued tasks and capacity (workers times concurrency plus queue
// capacity). Reports go point to point over protoactor's remote rather than
// through the cluster's pub/sub, whose topics are virtual actors placed by
// the identity lookup; a report's arrival is also what proves that its
// sender passed mTLS as a client. The latest report of each member is kept;
// a member whose report is older than the stale bound (ten intervals) takes
// no new tasks until the next one.
//
// # Routing
//
// Submit picks a member for each task with a strategy from package router,
// one per pool name across the cluster, over the members whose last report
// names the pool (this member included): least-busy by default (the member
// with the fewest of this member's tasks in flight; ties rotate), weighted
// (shares by the free room each member reports), consistent-hash (by
// Task.Key), or any other router.Names. A member whose report says its pool
// is full takes no task until a report says otherwise. Each member's slots
// are bounded by its pool's capacity, so Submit waits (and TrySubmit
// refuses with actors.ErrQueueFull) when every member is full as far as
// this member knows.
//
// # The result path
//
// A task for this member goes straight to its own node (Node.TrySubmit,
// with a result callback); a task for another member goes in a TaskBatch
// to that member's inbox ("drover-inbox"), which hands each task to its
// node the same way, on the goroutine that delivers the batch. Results go
// back in ResultBatches to the sending member's collector
// ("drover-results"), a protoactor process without a mailbox that matches
// each result to its task by the task's id: no protoactor future and no
// actor hop per task. Batches form by themselves, in each direction and
// per destination, with no goroutine of Drover's: a task (or result) that
// finds none on its way posts a token to the destination through
// protoactor's remote, and the remote's endpoint writer, when it comes to
// send the token, takes everything queued for the destination by then
// (see remote.RootSerializable). So a lone task leaves at once, and tasks
// that come while the connection is busy go together. Batches are stored
// column by column (TaskColumns, ResultColumns in
// protos/drover_cluster.proto): a few allocations per batch rather than
// several per task; the inbox and the collector also read the envelope
// form (TaskEnvelope, TaskResult). Every accepted task gets exactly one
// result. A member that refuses a task without running it (queue full,
// shutting down, no such pool or handler, circuit open) has it placed
// elsewhere, up to WithMaxDispatch times in all.
//
// # Failover
//
// When a member is lost (the provider dropped it, its connection ended, or
// it stayed silent past the lost bound), this member's tasks in flight
// there end at once: those submitted with Idempotent go to another member;
// the others fail with an error that wraps ErrMemberLost and
// actors.ErrWorkerCrashed. Their outcome is unknown: the task may have run,
// and may still run, on the lost member. A member that leaves
// with Shutdown first tells every other member, waits for each one's
// answer (which follows, on the same connection, every task that member
// sent it), drains its node, and makes sure the results went back before
// it disconnects: nothing is lost, nothing runs twice.
//
// # Mutual TLS
//
// WithTLS takes a tls.Config (LoadTLS builds one from PEM files) with the
// member's certificate and the CA that signs every member's certificate.
// A member's certificate must be valid for server and client
// authentication and name its advertised host. Test certificates with
// openssl:
//
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
//		-subj /CN=drover-ca -keyout ca.key -out ca.crt
//	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=member-a \
//		-keyout a.key -out a.csr
//	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > a.ext
//	openssl x509 -req -in a.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
//		-extfile a.ext -out a.crt
//
// and LoadTLS("ca.crt", "a.crt", "a.key"). The automanaged provider's HTTP
// endpoint is not covered: it is plain HTTP on the bind host and tells who
// the members are, not what they run. With etcd, Etcd.TLS secures the
// connection to etcd.
//
// # Caveats
//
//   - One member per process: protoactor's remote keeps global state (gRPC's
//     logger) and its cluster races with itself when two run in one process.
//   - Starting a member takes a little over a second: protoactor's
//     StartMember waits one second.
//   - Task.Retry is not carried to other members (Submit refuses it) and
//     Task.ID stays on the Future, so quarantine by ID works per node only.
//     Future.Cancel, or the end of Task.Context, ends a task here; a run on
//     another member goes on and its result is dropped.
//   - Tasks with a Func run on this member's node alone.
//
// # Concurrency
//
// All methods of Member are safe for concurrent use. Submit returns the
// same *actors.Future as actors.Node.Submit, checks a task as the node does
// (actors.Task.Validate) and gives contexts the same meaning; Result.Node
// names the member that ran the task. Event
// hooks are called one at a time, in order, from the member's control
// actor.
package cluster
