// The image registry that local servers pull from (github.com/distribution/distribution/v3, Apache-2.0): the local
// stand-in for ghcr.io, so a new local server gets its images the way a new Hetzner server does, by pulling them.
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() { _ = registry.RootCmd.Execute() }
