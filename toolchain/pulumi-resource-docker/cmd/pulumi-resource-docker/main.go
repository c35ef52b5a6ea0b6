// Command pulumi-resource-docker is the Pulumi resource plugin for the package "docker", built by AgentPod from
// kreuzwerker/terraform-provider-docker through pulumi-terraform-bridge (see scripts/setup/provider-docker.sh).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"agentpod.local/pulumi-resource-docker/provider"
)

func main() {
	tfbridge.Main("docker", provider.Version, provider.Provider(), provider.Schema)
}
