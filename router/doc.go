// Package router holds the routing strategies that choose which routee (a
// worker, or a remote node) takes each task: round-robin, smooth weighted
// round-robin, least-busy, random, power-of-two-choices and consistent hash.
//
// A strategy knows nothing about pools, actors or supervision. It keeps, for
// each routee, its weight, its capacity, whether it is available and how
// many tasks it has in flight, and picks among those that are eligible.
//
// # The contract
//
// Every strategy implements [Strategy]. Routees are added with [Strategy.Add]
// and start unavailable; [Strategy.SetAvailable] marks them as able to take
// work once they are up, and not able when they stop, fail a health check or
// die. A routee is eligible when it is available and has fewer tasks in
// flight than its capacity (a zero capacity means 1).
//
// [Strategy.Pick] returns only eligible routees, reserves a slot on the one
// it returns (its in-flight count grows by one) and reports ok=false when no
// routee is eligible; the caller then queues the task or refuses it.
// [Strategy.Done] releases the slot when the task ends, whatever its outcome.
// The in-flight count of a routee never exceeds its capacity and never goes
// below zero: a Done without a matching Pick, or for a removed routee, is a
// no-op. Pick and Done do not allocate (consistent-hash rebuilds its ring
// at the first keyed Pick after a routee was added or removed).
//
// Every method of every strategy is safe for concurrent use: each strategy
// guards its state with its own mutex, so a caller that already serializes
// its calls pays only for an uncontended lock.
//
// # Choosing a strategy
//
//   - round-robin ([NewRoundRobin]): each eligible routee in turn. The default,
//     for routees that are alike and tasks that cost about the same.
//   - weighted ([NewWeighted]): nginx's smooth weighted round-robin; shares
//     follow the weights and are interleaved (5, 1, 1 gives a a b a c a a).
//     For routees of unequal power, such as machines with different numbers
//     of cores. Pick is O(n) in the eligible routees.
//   - least-busy ([NewLeastBusy]): the routee with the fewest tasks in
//     flight, ties rotating; also known as "least connections". For tasks
//     whose cost varies widely, so that a slow task does not hold up a queue
//     behind it. Pick is O(log n).
//   - random ([NewRandom]): uniformly at random. Cheap and stateless in
//     effect; for many callers that should not fall into step.
//   - p2c ([NewP2C]): power of two choices; of two random routees, the less
//     busy. Nearly least-busy's balance at random's cost; a good default for
//     large pools.
//   - consistent-hash ([NewConsistentHash]): by the task's routing key on a
//     ring with virtual nodes, so that tasks with the same key reach the same
//     routee (for caches or per-key ordering) and a change of membership moves
//     few keys. Turn string keys into routing keys with [Key].
//
// [New] makes any of them by name, as it appears in configuration files;
// [Names] lists the names.
//
// # Membership changes
//
// [Strategy.Remove] forgets a routee at once, including the slots it holds;
// tasks already picked for it are the caller's to finish or fail. Weights
// change at run time with [Strategy.SetWeight] and take effect at the next
// Pick.
package router
