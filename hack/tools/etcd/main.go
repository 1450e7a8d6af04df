// Command etcd is the etcd server for the test cluster, built from the Go module proxy
// because Debian's etcd-server is older than what current kube-apiservers are tested against.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
