// Command benthos is the Redpanda Benthos v4 peer of the end-to-end
// benchmark: the stock Benthos CLI with its pure and io components only
// (http_client input, mapping, file output). It lives in its own module so
// that the auditrelay module never depends on Benthos.
//
//	go build -o benthos . && ./benthos -c pipeline.yaml
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
