// Command ldflags prints the -ldflags value mytsdb is built with (see
// compliance/server.LDFlags), for the Makefile:
//
//	LDFLAGS := $(shell go run ./compliance/cmd/ldflags)
//	go build -ldflags "$(LDFLAGS)" -o bin/mytsdb ./cmd/mytsdb
package main

import (
	"fmt"

	"mytsdb/compliance/server"
)

func main() {
	fmt.Println(server.LDFlags())
}
