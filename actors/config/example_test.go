package config_test

import (
	"fmt"

	"github.com/drover-go/drover/actors/config"
)

func ExampleParse() {
	src := []byte(`
name = "edge-1"

pool "cpu" {
  workers  = -1
  strategy = "fastest"
}
`)
	_, err := config.Parse(src, "drover.hcl")
	fmt.Println(err)

	c, err := config.Parse([]byte(`pool "io" { kind = "io" }`), "ok.hcl")
	fmt.Println(c.Name, c.Admin.Address, c.Pools[0].Name, c.Pools[0].Kind, err)
	// Output:
	// drover.hcl:5:14: pool "cpu": workers is -1; allowed: 1 to 65536
	// drover.hcl:6:14: pool "cpu": strategy is "fastest"; allowed: round-robin, weighted, least-busy, random, p2c, consistent-hash
	// drover 127.0.0.1:9090 io io <nil>
}
