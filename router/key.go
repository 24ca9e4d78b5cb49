package router

// Key turns a string routing key into the uint64 that Pick takes: the 64-bit
// FNV-1a hash of s, except that it never returns 0 (which Pick reads as "no
// key"). It is stable across processes, machines and versions, so it may be
// used to agree on key placement between nodes. It does not allocate and is
// safe for concurrent use.
func Key(s string) uint64 {
	const (
		offset = 0xcbf29ce484222325
		prime  = 0x100000001b3
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	if h == 0 {
		h = prime
	}
	return h
}

// mix64 is splitmix64's finalizer: a bijection on uint64 that spreads nearby
// inputs over the whole range.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
