// Command pulumi-tfgen-docker generates schema.json and bridge-metadata.json for pulumi-resource-docker:
//
//	go run ./cmd/pulumi-tfgen-docker schema --out provider/generated --skip-docs --skip-examples
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"agentpod.local/pulumi-resource-docker/provider"
)

func main() {
	tfgen.Main("docker", provider.Version, provider.Provider())
}
