// Package provider describes how AgentPod's pulumi-resource-docker maps the Terraform provider
// kreuzwerker/docker onto the Pulumi package "docker", so that the npm SDK @pulumi/docker@5.2.0 can drive it.
//
// Only what that SDK sends on the wire has to match: resource type tokens and property names/shapes.
// scripts/setup/check-docker-schema.mjs diffs the generated schema against the installed SDK.
package provider

import (
	"context"
	_ "embed"
	"unicode"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	tfbridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/terraform-providers/terraform-provider-docker/agentpodshim"
)

// Version is the plugin version; it must equal the `pulumi.version` of the npm package @pulumi/docker we use.
const Version = "5.2.0"

const (
	pkgName = "docker"
	mainMod = "index"
	// defaultHost is used when neither the program nor DOCKER_HOST sets `host`.
	defaultHost = "unix:///var/run/docker.sock"
)

// bridgeMetadata is written by the tfgen generator (cmd/pulumi-tfgen-docker) next to schema.json. The build
// script seeds it with "{}" before the first generation.
//
//go:embed generated/bridge-metadata.json
var bridgeMetadata []byte

// res makes a resource token docker:index/<camelName>:<Name>, the layout @pulumi/docker uses.
func res(name string) tokens.Type {
	file := string(unicode.ToLower(rune(name[0]))) + name[1:]
	return tokens.Type(pkgName + ":" + mainMod + "/" + file + ":" + name)
}

// Provider returns the bridge description of the docker provider.
func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(agentpodshim.SDKProvider(Version)),
		Name:        pkgName,
		Version:     Version,
		Description: "AgentPod's bridge of kreuzwerker/docker for @pulumi/docker " + Version,
		License:     "Apache-2.0",
		GitHubOrg:   "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {
				Default: &tfbridge.DefaultInfo{
					EnvVars: []string{"DOCKER_HOST"},
					ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (interface{}, error) {
						return defaultHost, nil
					},
				},
			},
			// A list of registries, named in the singular by the SDK.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: res("Container"),
				// Container names are unique per engine: the old container must go first.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command given as a list of words: not pluralized.
					"command": {Name: "command"},
					// Not pluralized by the SDK either.
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_network":        {Tok: res("Network")},
			"docker_volume":         {Tok: res("Volume")},
			"docker_image":          {Tok: res("RemoteImage"), Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}}},
			"docker_config":         {Tok: res("ServiceConfig")},
			"docker_secret":         {Tok: res("Secret")},
			"docker_service":        {Tok: res("Service")},
			"docker_registry_image": {Tok: res("RegistryImage")},
			"docker_plugin":         {Tok: res("Plugin")},
			"docker_tag":            {Tok: res("Tag")},
			"docker_buildx_builder": {Tok: res("BuildxBuilder")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: tokens.ModuleMember(pkgName + ":" + mainMod + "/getRemoteImage:getRemoteImage")},
		},
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
	}
	// Everything not listed above gets the standard docker:index/<name>:<Name> token.
	info.MustComputeTokens(tfbridgetokens.SingleModule("docker_", mainMod, tfbridgetokens.MakeStandard(pkgName)))
	// Fill `name` from the Pulumi resource name (plus a random suffix) when the program does not set it.
	info.SetAutonaming(255, "-")
	return info
}
