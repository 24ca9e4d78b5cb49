package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/drover-go/drover/actors"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// digest is what /hash answers for input and rounds.
func digest(input string, rounds int) string {
	d := []byte(input)
	for range rounds {
		sum := sha256.Sum256(d)
		d = sum[:]
	}
	return hex.EncodeToString(d)
}

// get requests url and returns the status, the Retry-After header and the body.
func get(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Retry-After"), strings.TrimSpace(string(body))
}

func TestHashAndBackpressure(t *testing.T) {
	node, err := newNode(options{workers: 1, queue: 1})
	require.NoError(t, err)
	defer node.Shutdown(context.Background())
	srv := httptest.NewServer(newHandler(node))
	defer srv.Close()
	c := srv.Client()

	t.Run("200 with the digest", func(t *testing.T) {
		code, _, body := get(t, c, srv.URL+"/hash?input=hello&rounds=3")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, digest("hello", 3), body)
	})

	t.Run("400 on a bad request", func(t *testing.T) {
		code, _, _ := get(t, c, srv.URL+"/hash?input=hello&rounds=0")
		assert.Equal(t, http.StatusBadRequest, code)
	})

	t.Run("503 with Retry-After while the pool is full", func(t *testing.T) {
		// Fill the pool: one task holds its only worker, one fills its queue.
		started, release := make(chan struct{}), make(chan struct{})
		running, err := node.TrySubmit(actors.Task{Pool: "work", Func: func(context.Context) (any, error) {
			close(started)
			<-release
			return nil, nil
		}})
		require.NoError(t, err)
		<-started
		queued, err := node.TrySubmit(actors.Task{Pool: "work", Func: func(context.Context) (any, error) { return nil, nil }})
		require.NoError(t, err)

		code, retry, body := get(t, c, srv.URL+"/hash?input=hello&rounds=3")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "1", retry)
		assert.Equal(t, "busy, retry later", body)

		close(release)
		for _, f := range []*actors.Future{running, queued} {
			_, err := f.Wait(context.Background())
			require.NoError(t, err)
		}
		code, _, body = get(t, c, srv.URL+"/hash?input=again&rounds=1")
		assert.Equal(t, http.StatusOK, code, "served again once there is room")
		assert.Equal(t, digest("again", 1), body)
	})
}

// lines hands each line written to it to a channel.
type lines struct {
	w    *io.PipeWriter
	next chan string
}

func newLines() *lines {
	r, w := io.Pipe()
	l := &lines{w: w, next: make(chan string, 16)}
	go func() {
		defer close(l.next)
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.next <- s.Text()
		}
	}()
	return l
}

func (l *lines) Write(p []byte) (int, error) { return l.w.Write(p) }

func TestRunServesUntilCanceled(t *testing.T) {
	out := newLines()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-workers", "1", "-queue", "4"}, out)
		out.w.Close()
	}()

	first := <-out.next
	require.True(t, strings.HasPrefix(first, "listening on http://"), first)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	code, _, body := get(t, &http.Client{Transport: tr}, strings.TrimPrefix(first, "listening on ")+"/hash?input=x&rounds=2")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, digest("x", 2), body)

	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, "stopped", <-out.next)
}
