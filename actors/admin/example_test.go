package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
)

func ExampleNewHandler() {
	n, err := actors.NewNode(actors.WithName("example"), actors.WithPool(actors.PoolConfig{Name: "cpu", Workers: 1}))
	if err != nil {
		panic(err)
	}
	h := admin.NewHandler(n)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())

	_, _ = n.Shutdown(context.Background())
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 ready
	// 503 not ready: the node is draining or stopped
}
